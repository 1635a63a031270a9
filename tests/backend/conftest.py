"""Backend test settings: one torch thread (two make tiny-model ops slow and erratic)."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict:
    """The tiny random prompter, segmenters and SAM 3 finder, built once: {"prompter", "sam2", "sam", "sam3"}."""
    import torch

    from backend.models.tiny import build_tiny_models

    torch.set_num_threads(1)
    return build_tiny_models(tmp_path_factory.mktemp("tiny-models"))
