"""Which models to run and how: the engine's options, shared by every command, and loading them.

:class:`EngineConfig` is what ``segment``, ``serve`` and ``evaluate`` have in common (models, device, batch,
generation); it is made once from the command line by :meth:`EngineConfig.from_args`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import contract

from ..devices import default_batch_size, resolve_device
from ..errors import UserError
from . import store
from .prompter import Prompter
from .prompts import REFERENCE_MAX_NEW_TOKENS
from .remote_spec import is_remote
from .segmenter import Segmenter

log = logging.getLogger(__name__)
CPU_WARNING = "no GPU in use; real-size models run very slowly on the CPU (minutes per tile)."


@dataclass(frozen=True)
class EngineConfig:
    """The models and how they run. ``device`` is already resolved (see :func:`..devices.resolve_device`)."""

    prompter: str = contract.DEFAULT_PROMPTER
    segmenter: str = contract.DEFAULT_SEGMENTER
    device: str = "cpu"
    models_dir: str | None = None
    batch_size: int = 1
    max_new_tokens: int | None = None
    force_answer: str | None = None
    constrain: bool = True
    concurrency: int = contract.SERVED_CONCURRENCY_DEFAULT  # tiles in flight to a served prompter (openai:...)
    finder: str = contract.DEFAULT_FINDER  # SAM 3, for queries in mode "find" (or routed to it by "auto")
    find_threshold: float = 0.5

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser, constrain_default: bool = True) -> None:
        """The model options of every command that runs models.

        ``constrain_default``: whether answers are held to the answer grammar unless the user says otherwise
        (on to segment and serve; off to evaluate the reference protocol, which decoded freely).
        """
        parser.add_argument(
            "--prompter",
            default=contract.DEFAULT_PROMPTER,
            help=f"prompter name or local folder (default {contract.DEFAULT_PROMPTER})",
        )
        parser.add_argument(
            "--segmenter",
            default=contract.DEFAULT_SEGMENTER,
            help=f"segmenter name or local checkpoint (default {contract.DEFAULT_SEGMENTER})",
        )
        parser.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda or cuda:N")
        parser.add_argument(
            "--models-dir", help="models folder (default: $THINK2MAP_MODELS or ~/.local/share/think2map/models)"
        )
        parser.add_argument("--batch-size", type=int, help="tiles per batch (default: 16 on CUDA, 1 on the CPU)")
        parser.add_argument(
            "--max-new-tokens",
            type=int,
            help="longest answer the prompter may write (default: the model's own limit, else "
            f"{REFERENCE_MAX_NEW_TOKENS})",
        )
        parser.add_argument(
            "--force-answer",
            metavar="TEXT",
            help="install check: constrain decoding so the prompter writes TEXT on every tile "
            "(e.g. with the tiny models, whose own answers are meaningless)",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=8,
            help="with --prompter openai:URL[#model] (an OpenAI-compatible server: vLLM, SGLang, Ollama, "
            "transformers serve), how many tiles are in flight at once (default 8)",
        )
        parser.add_argument(
            "--finder",
            default=contract.DEFAULT_FINDER,
            help=f"the SAM 3 model for --mode find/auto: a name or a local folder (default {contract.DEFAULT_FINDER})",
        )
        parser.add_argument(
            "--find-threshold",
            type=float,
            default=0.5,
            help="SAM 3's detection score below which an instance is dropped (default 0.5)",
        )
        parser.add_argument(
            "--constrain-answers",
            action=argparse.BooleanOptionalAction,
            default=constrain_default,
            help="hold the prompter's answers to the answer grammar (<think>, then a JSON list of boxes and two "
            "points, clamped to 0-840), so that every answer parses (default: "
            + ("on" if constrain_default else "off, as the reference decoded")
            + ")",
        )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> EngineConfig:
        """The config the command line asks for: the device resolved, the batch size defaulted for it."""
        device = resolve_device(args.device)
        return cls(
            prompter=args.prompter,
            segmenter=args.segmenter,
            device=device,
            models_dir=args.models_dir,
            batch_size=default_batch_size(device, args.batch_size),
            max_new_tokens=args.max_new_tokens,
            force_answer=args.force_answer,
            constrain=bool(getattr(args, "constrain_answers", True)),
            concurrency=max(1, int(getattr(args, "concurrency", None) or contract.SERVED_CONCURRENCY_DEFAULT)),
            finder=getattr(args, "finder", None) or contract.DEFAULT_FINDER,
            find_threshold=float(getattr(args, "find_threshold", 0.5)),
        )

    def warn_if_cpu(self) -> None:
        """Say on stderr that real-size models will be slow, when they are about to run on the CPU."""
        if self.device == "cpu":
            print(f"warning: {CPU_WARNING}", file=sys.stderr)

    def resolve_finder(self) -> tuple[Path, Path]:
        """For a query SAM 3 answers: its folder, in both places (it prompts and segments)."""
        path = store.resolve(self.finder, "finder", self.models_dir)
        return path, path

    def resolve(self) -> tuple[Path, Path]:
        """Where the prompter's and the segmenter's weights are (``MissingWeightsError`` when absent)."""
        return (
            store.resolve(self.prompter, "prompter", self.models_dir),
            store.resolve(self.segmenter, "segmenter", self.models_dir),
        )


def is_sam3_folder(path: object) -> bool:
    """Whether ``path`` is a SAM 3 checkpoint folder (its config's model type), which answers "find" queries."""
    import json

    config = Path(str(path)) / "config.json"
    if is_remote(path) or not config.is_file():
        return False
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("model_type") in ("sam3", "sam3_video")
    except (OSError, ValueError):
        return False


class ModelPair(NamedTuple):
    """What a query runs with: the prompter that writes SAM prompts and the segmenter that reads them (SAM 3 is
    both)."""

    prompter: Prompter
    segmenter: Segmenter


def checkpoint_kind(prompter_path: str | Path) -> str:
    """Which loader of :data:`LOADERS` a prompter's checkpoint takes: "served" (an ``openai:`` name), "sam3" (a SAM 3
    folder, which finds and segments by itself) or "qwen" (a local Think2Seg-RS or Qwen2.5-VL folder)."""
    if is_remote(prompter_path):
        return "served"
    return "sam3" if is_sam3_folder(prompter_path) else "qwen"


def _load_sam3(config: EngineConfig, prompter_path: str | Path, segmenter_path: str | Path) -> ModelPair:
    from .finder import load_finder

    finder = load_finder(prompter_path, device=config.device, score_threshold=config.find_threshold)
    return ModelPair(finder, finder)  # it prompts and segments


def _load_served(config: EngineConfig, prompter_path: str | Path, segmenter_path: str | Path) -> ModelPair:
    from .build_segmenter import load_segmenter
    from .openai_prompter import OpenAIPrompter

    if config.force_answer:
        raise UserError(
            "--force-answer needs the built-in engine; a served prompter writes its own answers", "bad_option"
        )
    remote = OpenAIPrompter(
        prompter_path,
        max_new_tokens=config.max_new_tokens,
        concurrency=config.concurrency,
        constrain=config.constrain,
    )
    return ModelPair(remote, load_segmenter(segmenter_path, device=config.device))


def _load_qwen(config: EngineConfig, prompter_path: str | Path, segmenter_path: str | Path) -> ModelPair:
    from .build_segmenter import load_segmenter
    from .prompter import load_prompter

    prompter = load_prompter(
        prompter_path,
        device=config.device,
        batch_size=config.batch_size,
        max_new_tokens=config.max_new_tokens,
        constrain=config.constrain and not config.force_answer,
    )
    if config.force_answer:
        from .forcing import forced_answer_kwargs

        prompter.generate_kwargs.update(forced_answer_kwargs(prompter.tokenizer, [config.force_answer]))
    return ModelPair(prompter, load_segmenter(segmenter_path, device=config.device))


# The kind of a prompter's checkpoint -> how its pair is loaded (segment-anything's sam_model_registry, for pairs).
LOADERS: dict[str, Callable[[EngineConfig, str | Path, str | Path], ModelPair]] = {
    "sam3": _load_sam3,
    "served": _load_served,
    "qwen": _load_qwen,
}


def load_models(config: EngineConfig, prompter_path: str | Path, segmenter_path: str | Path) -> ModelPair:
    """Load a prompter and a segmenter from resolved paths (or a served prompter's ``openai:`` name, as text), as
    ``config`` says (device, batch, generation)."""
    return LOADERS[checkpoint_kind(prompter_path)](config, prompter_path, segmenter_path)
