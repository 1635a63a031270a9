"""Constrain a prompter to write known answers through the real ``generate()`` path.

Used by the tests and by ``--force-answer`` to check an install end to end with tiny random models, whose own
output is meaningless. Decoding, parsing, SAM and geometry all run for real; only the token choice is fixed.
"""

from __future__ import annotations

from collections.abc import Callable


def forced_answer_kwargs(processor_or_tokenizer, texts: list[str]) -> dict:
    """``generate()`` kwargs that make row ``i`` of a batch write ``texts[i]`` and then end (EOS).

    The generated part is found after the last ``<|im_start|>assistant\\n`` header (the chat template's
    generation prompt), so it works with any left padding. Rows beyond ``len(texts)`` reuse the texts cyclically.
    """
    tokenizer = getattr(processor_or_tokenizer, "tokenizer", processor_or_tokenizer)
    eos = tokenizer.eos_token_id
    im_start = tokenizer.convert_tokens_to_ids("<|im_start|>")
    header = len(tokenizer.encode("assistant\n", add_special_tokens=False))
    forced = [tokenizer.encode(t, add_special_tokens=False) + [eos] for t in texts]

    def allowed(batch_id: int, input_ids) -> list[int]:
        ids = input_ids.tolist()
        start = len(ids) - 1 - ids[::-1].index(im_start) + 1 + header
        target = forced[batch_id % len(forced)]
        step = len(ids) - start
        return [target[step]] if step < len(target) else [eos]

    fn: Callable = allowed
    return {"prefix_allowed_tokens_fn": fn}


def forced_sequence_bias(processor_or_tokenizer, text: str, bias: float = 50.0) -> list:
    """A ``GenerationConfig.sequence_bias`` that makes a server running ``generate()`` (``transformers serve``,
    through its ``generation_config`` request field) write ``text`` and then end.

    Each token of the answer is biased after the exact prefix written before it (starting from the generation
    prompt's last token), with a larger bias for a longer prefix, so the longest matching prefix always wins.
    """
    tokenizer = getattr(processor_or_tokenizer, "tokenizer", processor_or_tokenizer)
    ids = tokenizer.encode(text, add_special_tokens=False) + [tokenizer.eos_token_id]
    start = tokenizer.encode("assistant\n", add_special_tokens=False)[-1:]
    return [[start + ids[:i] + [token], bias + i] for i, token in enumerate(ids)]
