"""Support offered to participants, named in the listing's own sentences.

Codes: ``travel`` (travel paid or reimbursed), ``accommodation``, ``meals``,
``equipment`` (laptop, kit, uniform), ``bursary``, ``childcare``. Each comes
with the sentence it was found in. A sentence that says the support is *not*
offered ("travel is not covered") gives nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_OFFER = (
    r"(paid|pay|pays|covered|covers?|reimbursed|reimburse|refunded|provided|provides?"
    r"|included|free|funded|funds?|offered)"
)
_RULES: dict[str, re.Pattern[str]] = {
    "travel": re.compile(
        rf"\b(travel|transport|train fares?|bus fares?)\b[^.]*\b{_OFFER}\b"
        rf"|\b{_OFFER}\b[^.]*\b(travel|transport|fares?)\b",
        re.I,
    ),
    "accommodation": re.compile(
        rf"\b(accommodation|residential|overnight stay)\b[^.]*\b{_OFFER}\b"
        rf"|\b{_OFFER}\b[^.]*\baccommodation\b",
        re.I,
    ),
    "meals": re.compile(
        rf"\b(meals?|lunch|food)\b[^.]*\b{_OFFER}\b|\b{_OFFER}\b[^.]*\b(meals?|lunch)\b",
        re.I,
    ),
    "equipment": re.compile(
        rf"\b(laptop|equipment|uniform|kit)\b[^.]*\b{_OFFER}\b"
        rf"|\b{_OFFER}\b[^.]*\b(laptop|equipment|uniform)\b",
        re.I,
    ),
    "bursary": re.compile(r"\b(bursary|bursaries|grant of|stipend)\b", re.I),
    "childcare": re.compile(rf"\bchildcare\b[^.]*\b{_OFFER}\b", re.I),
}
_NEGATED = re.compile(r"\b(not|no|cannot|unable to|isn't|aren't|won't)\b", re.I)
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass
class Support:
    offered: list[str] = field(default_factory=list)
    evidence: dict[str, str] = field(default_factory=dict)


def extract_support(text: str | None) -> Support:
    """The support a listing offers, each code with its sentence."""
    support = Support()
    if not text:
        return support
    for sentence in _SENTENCES.split(text):
        sentence = sentence.strip()
        if not sentence or _NEGATED.search(sentence):
            continue
        for code, rule in _RULES.items():
            if code not in support.evidence and rule.search(sentence):
                support.offered.append(code)
                support.evidence[code] = sentence[:300]
    return support
