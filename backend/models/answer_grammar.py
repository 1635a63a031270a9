"""Answers that always parse: decoding constrained to the Think2Seg-RS answer format, with xgrammar.

The prompter's output is held to ``<think>…</think>``, then ``<answer>`` and a JSON list of
``{"bbox_2d": [4 ints], "positive_points": [[x, y], [x, y]]}`` with coordinates in 0–840 (the model's frame),
or ``[]``, optionally in the ```` ```json ```` fence the checkpoints were trained to write, then
``</answer>``. The grammar bounds every part, so its longest sentence is :attr:`AnswerGrammar.max_chars`
characters; a token is at least one character, so generation given that many new tokens always closes the
answer. This is a production option, not the reference protocol (which decodes freely).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .prompts import MODEL_IMAGE_SIZE

THINK_MAX_CHARS = 1200  # about 300 tokens of reasoning for Qwen's tokenizer; the longest seen answers fit
MAX_INSTANCES = 16
_SEPARATOR_MAX = 3  # spaces or newlines between </think> and <answer>


@dataclass(frozen=True)
class AnswerGrammar:
    """The answer grammar's bounds: reasoning length, instances per answer, the coordinate range."""

    think_max_chars: int = THINK_MAX_CHARS
    max_instances: int = MAX_INSTANCES
    size: int = MODEL_IMAGE_SIZE

    def ebnf(self) -> str:
        """The grammar in xgrammar's EBNF. The reasoning may not contain ``<``: it ends at ``</think>``."""
        more = max(0, self.max_instances - 1)
        return "\n".join(
            [
                'root ::= "<think>" think "</think>" sep "<answer>" answer "</answer>"',
                f"sep ::= [ \\n]{{0,{_SEPARATOR_MAX}}}",
                f"think ::= [^<]{{0,{max(0, self.think_max_chars)}}}",
                'answer ::= "```json" list "```" | list',
                f'list ::= "[]" | "[" obj (", " obj){{0,{more}}} "]"',
                'obj ::= "{\\"bbox_2d\\": [" int ", " int ", " int ", " int "], "'
                ' "\\"positive_points\\": [" pt ", " pt "]}"',
                'pt ::= "[" int ", " int "]"',
                f"int ::= {_integer_rule(self.size)}",
            ]
        )

    @property
    def max_chars(self) -> int:
        """The longest text the grammar accepts, in characters."""
        digits = len(str(self.size))
        obj = len('{"bbox_2d": [, , , ], "positive_points": [[, ], [, ]]}') + 8 * digits
        answer = len("```json[]```") + self.max_instances * obj + (self.max_instances - 1) * len(", ")
        tags = len("<think></think><answer></answer>") + _SEPARATOR_MAX
        return tags + self.think_max_chars + answer


def _integer_rule(top: int) -> str:
    """An EBNF alternative matching the integers 0..``top`` (``top`` from 99 to 999) without leading zeros."""
    if not 99 <= top <= 999:
        raise ValueError(f"the coordinate grammar covers frames of 100 to 1000 pixels, not {top + 1}")
    rules = ["[0-9]", "[1-9] [0-9]"]
    hundreds, tens, ones = top // 100, (top // 10) % 10, top % 10
    if top >= 100:
        if hundreds > 1:
            rules.append(f"[1-{hundreds - 1}] [0-9] [0-9]")
        if tens > 0:
            rules.append(f'"{hundreds}" [0-{tens - 1}] [0-9]')
        rules.append(f'"{hundreds}{tens}" [0-{ones}]')
    return " | ".join(rules)


class AnswerConstraint:
    """The compiled grammar for one tokenizer; :meth:`generate_kwargs` gives a fresh processor per call."""

    def __init__(self, tokenizer: Any, vocab_size: int, grammar: AnswerGrammar | None = None) -> None:
        import xgrammar

        self.grammar = grammar or AnswerGrammar()
        info = xgrammar.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size)
        self._compiled = xgrammar.GrammarCompiler(info, max_threads=1).compile_grammar(self.grammar.ebnf())

    def generate_kwargs(self) -> dict:
        """``generate()`` arguments that hold every row of one batch to the grammar and give it room to close."""
        from transformers import LogitsProcessorList
        from xgrammar.contrib.hf import LogitsProcessor

        return {
            "logits_processor": LogitsProcessorList([LogitsProcessor(self._compiled)]),
            "max_new_tokens": self.grammar.max_chars + 1,
        }
