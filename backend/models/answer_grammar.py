"""Answers that always parse: decoding constrained to the Think2Seg-RS answer format, with xgrammar.

The prompter's output is held to ``<think>…</think>``, then ``<answer>`` and a JSON list of
``{"bbox_2d": [4 ints], "positive_points": [[x, y], [x, y]]}`` (the parser clamps coordinates to the model's
840 frame), or ``[]``, optionally in the ```` ```json ```` fence the checkpoints were trained to write, then
``</answer>``. The grammar bounds every part, so its longest sentence is :attr:`AnswerGrammar.max_chars`
characters; a token is at least one character, so generation given that many new tokens always closes the
answer. This is a production option, not the reference protocol (which decodes freely).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .prompts import MAX_INSTANCES

THINK_MAX_CHARS = 4000  # about 1,000 tokens of reasoning: the reference's answers fit in its 2,048 new tokens
COORDINATE_DIGITS = 4  # 0–9999: a coordinate past the frame is written whole, then clamped by the parser
_SEPARATOR_MAX = 3  # spaces or newlines between </think> and <answer>


@dataclass(frozen=True)
class AnswerGrammar:
    """The answer grammar's bounds: reasoning length and instances per answer."""

    think_max_chars: int = THINK_MAX_CHARS
    max_instances: int = MAX_INSTANCES

    def ebnf(self) -> str:
        """The grammar in xgrammar's EBNF. The reasoning may not contain ``<``: it ends at ``</think>``.

        JSON's separators take an optional space (``[310,360,567,586]`` as in the training prompt's example, or
        ``[434, 474]``); integers have up to :data:`COORDINATE_DIGITS` digits and no leading zeros.
        """
        more = max(0, self.max_instances - 1)
        return "\n".join(
            [
                'root ::= "<think>" think "</think>" sep "<answer>" answer "</answer>"',
                f"sep ::= [ \\n]{{0,{_SEPARATOR_MAX}}}",
                f"think ::= [^<]{{0,{max(0, self.think_max_chars)}}}",
                'answer ::= "```json" list "```" | list',
                f'list ::= "[]" | "[" obj ("," s obj){{0,{more}}} "]"',
                'obj ::= "{\\"bbox_2d\\":" s "[" int "," s int "," s int "," s int "]," s'
                ' "\\"positive_points\\":" s "[" pt "," s pt "]}"',
                'pt ::= "[" int "," s int "]"',
                's ::= " "?',
                f'int ::= "0" | [1-9] [0-9]{{0,{COORDINATE_DIGITS - 1}}}',
            ]
        )

    @property
    def max_chars(self) -> int:
        """The longest text the grammar accepts, in characters (every optional space written)."""
        obj = len('{"bbox_2d": [, , , ], "positive_points": [[, ], [, ]]}') + 8 * COORDINATE_DIGITS
        answer = len("```json[]```") + self.max_instances * obj + (self.max_instances - 1) * len(", ")
        tags = len("<think></think><answer></answer>") + _SEPARATOR_MAX
        return tags + self.think_max_chars + answer


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
