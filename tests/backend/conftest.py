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
def tiny_models() -> dict:
    """The tiny random prompter, segmenters and SAM 3 finder: {"prompter", "sam2", "sam", "sam3"}.

    Built once into the run's shared folder (``THINK2MAP_TINY_MODELS``), and reused while this code built them.
    """
    import torch

    from backend.models.tiny import ensure_tiny_models
    from tests.locations import TINY_MODELS

    torch.set_num_threads(1)
    return ensure_tiny_models(TINY_MODELS)
