"""What holding answers to the grammar costs per generated token.

The grammar's own work per token: xgrammar's mask, applied to a logits row of Qwen2.5-VL's real width
(152,064), then the token accepted, teacher-forced over a typical answer with the benchmark's real-size
tokenizer. It adds to each decoding step of the model, whatever the model's size.
"""

from __future__ import annotations

import statistics
import time

ANSWER = (
    "<think>The image shows a residential area with several detached houses; the red roofs are in the upper "
    "left and along the road.</think>\n<answer>```json["
    + ", ".join(
        f'{{"bbox_2d": [{x}, {y}, {x + 90}, {y + 70}], '
        f'"positive_points": [[{x + 30}, {y + 30}], [{x + 60}, {y + 40}]]}}'
        for x, y in ((40, 60), (300, 120), (610, 500))
    )
    + "]```</answer>"
)


def mask_cost(repeats: int = 3) -> dict:
    """Milliseconds per token of the grammar alone at the real vocabulary width (median of ``repeats``)."""
    import torch
    import xgrammar

    from ...models.answer_grammar import AnswerConstraint
    from .models import build_qwen_tokenizer, qwen_3b_config

    tokenizer = build_qwen_tokenizer()
    vocab = qwen_3b_config().text_config.vocab_size
    started = time.perf_counter()
    constraint = AnswerConstraint(tokenizer, vocab)
    setup_s = time.perf_counter() - started
    ids = tokenizer.encode(ANSWER, add_special_tokens=False) + [tokenizer.eos_token_id]
    runs = []
    for _ in range(repeats):
        matcher = xgrammar.GrammarMatcher(constraint._compiled)
        bitmask = xgrammar.allocate_token_bitmask(1, vocab)
        logits = torch.randn(1, vocab)
        t0 = time.perf_counter()
        for token in ids:
            matcher.fill_next_token_bitmask(bitmask)
            xgrammar.apply_token_bitmask_inplace(logits, bitmask)
            if not matcher.accept_token(token):
                raise RuntimeError(f"the benchmark answer leaves the grammar at token {token}")
        runs.append((time.perf_counter() - t0) / len(ids) * 1000)
    return {"vocab": vocab, "tokens": len(ids), "ms_per_token": statistics.median(runs), "setup_s": setup_s}
