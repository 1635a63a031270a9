"""Which engine answers a query: SAM 3 finds every instance of a short noun phrase ("buildings", "swimming
pools"); Think2Seg-RS reasons about anything else ("the field next to the bend in the river").

The rule, which every result records in its ``route`` attribute: a query goes to SAM 3 when it is a noun
phrase of at most :data:`MAX_FIND_WORDS` words (not counting a leading "the", "all", "every"...), with no
question mark, no digit and none of the words that relate objects to each other or rank them
(:data:`REASONING_WORDS`). Everything else goes to the reasoning prompter.
"""

from __future__ import annotations

import re

import contract

from ..errors import OptionError

MAX_FIND_WORDS = 4
# What --mode find takes at most: SAM 3's text encoder reads 32 tokens, about 20 words; a sentence is not a concept.
MAX_PHRASE_WORDS = 12
DETERMINERS = frozenset({"a", "an", "the", "all", "every", "each", "any", "some", "find", "show"})
REASONING_WORDS = frozenset(
    """
    near nearest next close closest closer far farthest furthest beside besides between by along across around
    behind beyond above below under over inside outside within without left right north south east west
    top bottom middle centre center largest smallest biggest longest shortest highest lowest widest narrowest
    most least more less than which that where who whose why how would could should will might can may if
    because since after before first last only not no
    """.split()
)


def route(query: str, mode: str = "auto") -> tuple[str, str]:
    """``(engine, why)``: engine ``find`` (SAM 3) or ``reason`` (Think2Seg-RS) for ``query`` under ``mode``."""
    if mode not in contract.QUERY_MODES:
        raise ValueError(f"unknown mode {mode!r}")
    if mode == "find":
        _check_phrase(query)
    if mode != "auto":
        return mode, ""
    text = query.strip()
    words = re.findall(r"[\w'-]+", text.lower())
    while words and words[0] in DETERMINERS:
        words = words[1:]
    if "?" in text:
        return "reason", "routed to Think2Seg-RS because the query is a question"
    if any(ch.isdigit() for ch in text):
        return "reason", "routed to Think2Seg-RS because the query has a number in it"
    related = [w for w in words if w in REASONING_WORDS]
    if related:
        return "reason", f"routed to Think2Seg-RS because '{related[0]}' relates or ranks objects"
    if not words or len(words) > MAX_FIND_WORDS:
        return "reason", f"routed to Think2Seg-RS because the query is longer than {MAX_FIND_WORDS} words"
    return "find", f"routed to SAM 3 because '{' '.join(words)}' is a short noun phrase"


def _check_phrase(query: str) -> None:
    """Refuse, in one sentence, a query SAM 3 cannot take as a concept: a question or a long sentence."""
    words = re.findall(r"[\w'-]+", query.lower())
    if "?" in query or len(words) > MAX_PHRASE_WORDS:
        raise OptionError(
            f'Find mode takes a short phrase naming what to find ("swimming pools"), not a question or a sentence '
            f"({len(words)} words; at most {MAX_PHRASE_WORDS}). Use mode auto or reason for this query.",
            "not_a_phrase",
            words=len(words),
            max=MAX_PHRASE_WORDS,
        )
