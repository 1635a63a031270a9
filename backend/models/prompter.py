"""Prompters: a vision-language model that reads an image and a query and writes SAM prompts.

:class:`Think2SegPrompter` runs Think2Seg-RS (or a base Qwen2.5-VL Instruct model zero-shot) exactly as the
checkpoints were trained: see ``think2seg-interface.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..devices import is_cuda, model_dtype_name, resolve_device
from ..errors import ModelError
from .answer_grammar import AnswerConstraint, AnswerGrammar
from .prompts import MODEL_IMAGE_SIZE, REFERENCE_MAX_NEW_TOKENS, PromptResult, chat_messages, parse_answer


@runtime_checkable
class Prompter(Protocol):
    """Anything that turns images and a query into SAM prompts.

    A prompter subclasses this Protocol to inherit the defaults of its optional members.
    """

    name: str
    source: str = "query"  # what the features it prompts say made them (contract.SOURCES)
    concurrency: int = 1  # images it works on at once (a served prompter: the requests it keeps in flight)

    def prompt(
        self, images: Sequence[np.ndarray], query: str | Sequence[str], tiles: Sequence | None = None
    ) -> list[PromptResult]:
        """One result per image (HxWx3 uint8), in that image's own pixel coordinates.

        ``query`` is one question for every image, or one per image. ``tiles`` is optional context (for
        example the tiles' positions) that real prompters ignore.
        """
        ...

    def bind_cancel(self, should_cancel: Callable[[], bool]) -> None:
        """The job's cancel flag, for a prompter that can stop mid-answer (default: it stops between batches)."""

    def forget(self, images: Sequence[np.ndarray]) -> None:
        """Drop what it kept from ``images``, which will not be segmented (an overview's cells); default nothing."""


def to_model_image(image: np.ndarray, size: int = MODEL_IMAGE_SIZE):
    """``image`` as a ``size``×``size`` RGB PIL image: LANCZOS, aspect ratio not kept (as in training)."""
    from PIL import Image

    array = np.asarray(image)
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"expected an HxWx3 image, got an array of shape {array.shape}")
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    pil = Image.fromarray(np.ascontiguousarray(array[..., :3]))
    return pil.resize((size, size), Image.Resampling.LANCZOS)


class Think2SegPrompter(Prompter):
    """Think2Seg-RS / Qwen2.5-VL through transformers, batched and greedy.

    ``path`` is a local Hugging Face folder (``config.json``, weights, processor files). bf16 on CUDA, fp32
    on the CPU. Decoding is the reference's whatever the checkpoint's ``generation_config.json`` says (see
    :meth:`generation_config`). ``constrain`` holds answers to the answer grammar
    (:mod:`.answer_grammar`) so they always parse. ``generate_kwargs`` are merged into every ``generate()``
    call (tests force answers with ``prefix_allowed_tokens_fn``, which replaces the grammar).
    """

    def __init__(
        self,
        path: str | Path,
        device: str = "auto",
        max_new_tokens: int | None = None,
        batch_size: int = 4,
        generate_kwargs: dict[str, Any] | None = None,
        constrain: bool = False,
        grammar: AnswerGrammar | None = None,
    ) -> None:
        self.path = Path(path)
        self.name = self.path.resolve().name
        self.device = resolve_device(device)
        self.batch_size = max(1, int(batch_size))
        self.generate_kwargs = dict(generate_kwargs or {})
        self.should_cancel: Callable[[], bool] = _never
        self.processor, self.model = _load(self.path, self.device)
        # The checkpoint's own limit where it sets one (the tiny models do), else the evaluation's.
        self.max_new_tokens = int(
            max_new_tokens or self.model.generation_config.max_new_tokens or REFERENCE_MAX_NEW_TOKENS
        )
        self._setup_constraint(constrain, grammar)

    @classmethod
    def from_loaded(cls, processor, model, name: str, device: str, **kwargs: Any) -> Think2SegPrompter:
        """A prompter around an already built processor and model (benchmarks build random-weight models)."""
        self = cls.__new__(cls)
        self.path, self.name, self.device = Path(name), name, device
        self.max_new_tokens = int(kwargs.get("max_new_tokens", REFERENCE_MAX_NEW_TOKENS))
        self.batch_size = max(1, int(kwargs.get("batch_size", 4)))
        self.generate_kwargs = dict(kwargs.get("generate_kwargs") or {})
        self.should_cancel = _never
        self.processor, self.model = processor, model
        self._setup_constraint(bool(kwargs.get("constrain", False)), kwargs.get("grammar"))
        return self

    def bind_cancel(self, should_cancel: Callable[[], bool]) -> None:
        """The job's cancel flag: a generation in progress stops at its next token when it turns true."""
        self.should_cancel = should_cancel

    def _setup_constraint(self, constrain: bool, grammar: AnswerGrammar | None) -> None:
        self.constrain = bool(constrain)
        self.constraint: AnswerConstraint | None = None
        if self.constrain:
            try:
                self.constraint = AnswerConstraint(self.tokenizer, _vocab_size(self.model), grammar)
            except ImportError as exc:
                raise ModelError(f"constrained answers need xgrammar ({exc}); pip install xgrammar") from None

    @property
    def tokenizer(self):
        return self.processor.tokenizer

    def prompt(
        self, images: Sequence[np.ndarray], query: str | Sequence[str], tiles: Sequence | None = None
    ) -> list[PromptResult]:
        """Prompts for every image, in its own pixels; up to ``batch_size`` images share one ``generate()``."""
        queries = [query] * len(images) if isinstance(query, str) else list(query)
        results: list[PromptResult] = []
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            if self.should_cancel():
                results += [PromptResult.cancelled() for _ in images[start:]]
                break
            texts = self.generate_texts(chunk, queries[start : start + self.batch_size])
            if self.should_cancel():  # stopped mid-answer: the texts are cut short, not the model's answers
                results += [PromptResult.cancelled() for _ in images[start:]]
                break
            for image, text in zip(chunk, texts):
                height, width = np.asarray(image).shape[:2]
                parsed = parse_answer(text, MODEL_IMAGE_SIZE, MODEL_IMAGE_SIZE)
                results.append(parsed.scaled(width / MODEL_IMAGE_SIZE, height / MODEL_IMAGE_SIZE))
        return results

    def prepare_inputs(self, images: Sequence[np.ndarray], query: str | Sequence[str]):
        """The model inputs for one batch (840×840 images, chat text, left padding), on the model's device."""
        queries = [query] * len(images) if isinstance(query, str) else list(query)
        pil_images = [to_model_image(image) for image in images]
        chats = [
            self.processor.apply_chat_template(chat_messages(q), tokenize=False, add_generation_prompt=True)
            for q in queries
        ]
        return self.processor(text=chats, images=pil_images, padding=True, padding_side="left", return_tensors="pt").to(
            self.model.device
        )

    def generation_config(self, max_new_tokens: int | None = None):
        """The ``GenerationConfig`` every call uses: greedy, as the reference decoded under transformers 4.49.

        Every sampling and penalty field is set to transformers' neutral default, so nothing in the
        checkpoint's ``generation_config.json`` (Qwen2.5-VL's ``repetition_penalty`` 1.05, its temperature,
        top-k and top-p) is merged in; only the special tokens come from the checkpoint.
        """
        from transformers import GenerationConfig

        neutral = {k: v for k, v in GenerationConfig()._get_default_generation_params().items() if v is not None}
        own = self.model.generation_config
        special = {
            k: getattr(own, k, None)
            for k in ("eos_token_id", "pad_token_id", "bos_token_id")
            if getattr(own, k, None) is not None
        }
        if "pad_token_id" not in special and self.tokenizer.pad_token_id is not None:
            special["pad_token_id"] = self.tokenizer.pad_token_id
        config = GenerationConfig(**{**neutral, **special})
        config.max_new_tokens = int(max_new_tokens or self.max_new_tokens)
        config.do_sample = False
        config.max_length = None
        return config

    def generate_from_inputs(self, inputs, **overrides: Any) -> list[str]:
        """Greedy ``generate()`` on prepared inputs; the new tokens only, decoded."""
        import torch
        from transformers import StoppingCriteriaList

        kwargs: dict[str, Any] = {}
        if self.constraint is not None and "prefix_allowed_tokens_fn" not in {**self.generate_kwargs, **overrides}:
            kwargs.update(self.constraint.generate_kwargs())
        kwargs.update(self.generate_kwargs)
        kwargs.update(overrides)
        kwargs.setdefault("stopping_criteria", StoppingCriteriaList([_StopWhenCancelled(self.should_cancel)]))
        config = self.generation_config(kwargs.pop("max_new_tokens", None))
        rest = config.update(**kwargs)  # generation fields go into the config; the rest (processors) stay
        with torch.inference_mode():
            output = self.model.generate(**inputs, generation_config=config, **rest)
        new_tokens = output[:, inputs["input_ids"].shape[1] :]
        return self.processor.batch_decode(new_tokens, skip_special_tokens=True, clean_up_tokenization_spaces=False)

    def generate_texts(self, images: Sequence[np.ndarray], query: str | Sequence[str]) -> list[str]:
        """The model's raw answers for ``images`` (one batch, left-padded), new tokens only.

        ``query`` is one question for all images, or one per image.
        """
        if not images:
            return []
        return self.generate_from_inputs(self.prepare_inputs(images, query))


class _StopWhenCancelled:
    """A stopping criterion (transformers calls it after each token): every row stops once the job is cancelled."""

    def __init__(self, should_cancel: Callable[[], bool]) -> None:
        self.should_cancel = should_cancel

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        return torch.full((input_ids.shape[0],), bool(self.should_cancel()), dtype=torch.bool, device=input_ids.device)


def _load(path: Path, device: str):
    """The processor and the model from a local folder; any failure becomes a ``ModelError``."""
    if not path.exists():
        raise ModelError(f"prompter model not found: {path}")
    if not path.is_dir() or not (path / "config.json").is_file():
        raise ModelError(f"{path} is not a Hugging Face model folder (no config.json); a Qwen2.5-VL folder is needed")
    try:
        import torch
        from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise ModelError(f"cannot load {path}: transformers is not installed ({exc})") from None

    bf16 = not is_cuda(device) or torch.cuda.is_bf16_supported()
    dtype = getattr(torch, model_dtype_name(device, bf16))
    hf_logging.disable_progress_bar()
    try:
        processor = AutoProcessor.from_pretrained(path, local_files_only=True)  # nosec B615 - a local folder
        try:
            model = Qwen2_5_VLForConditionalGeneration.from_pretrained(  # nosec B615 - a local folder
                path, local_files_only=True, dtype=dtype, attn_implementation="sdpa"
            )
        except (ValueError, ImportError) as exc:
            if "sdpa" not in str(exc).lower() and "attn" not in str(exc).lower():
                raise
            model = Qwen2_5_VLForConditionalGeneration.from_pretrained(path, local_files_only=True, dtype=dtype)  # nosec B615 - a local folder
        model.to(device).eval()
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken checkpoint can fail in many ways; the user needs one message
        raise ModelError(f"cannot load the prompter from {path}: {_reason(exc)}") from None
    if getattr(processor, "tokenizer", None) is None:
        raise ModelError(f"cannot load the prompter from {path}: the folder has no tokenizer")
    processor.tokenizer.padding_side = "left"
    if processor.tokenizer.pad_token_id is None:
        processor.tokenizer.pad_token = processor.tokenizer.eos_token
    return processor, model


def _vocab_size(model) -> int:
    """The width of the model's logits (Qwen2.5-VL pads its vocabulary beyond the tokenizer's)."""
    config = model.config
    text = getattr(config, "text_config", None)
    return int(getattr(text, "vocab_size", None) or config.vocab_size)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first[:300]}" if first else type(exc).__name__


def _never() -> bool:
    return False


def load_prompter(path: str | Path, device: str = "auto", **kwargs: Any) -> Prompter:
    """Load a Think2Seg-RS / Qwen2.5-VL prompter from a local folder (see :class:`Think2SegPrompter`)."""
    return Think2SegPrompter(path, device=device, **kwargs)
