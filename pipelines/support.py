"""Support offered to participants, named in the listing's own sentences.

Codes: ``travel`` (travel paid or reimbursed), ``accommodation``, ``meals``,
``equipment`` (laptop, kit, uniform), ``bursary``, ``childcare``. Each comes
with the sentence it was found in. A sentence that says the support is *not*
offered ("travel is not covered") gives nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# the support is offered when an offer word stands next to the thing, within
# its clause: "travel costs are paid", "free meals", "we pay your train fares";
# not when both merely share a sentence ("able to travel ... a paid role")
_PASSIVE = r"(?:paid|covered|reimbursed|refunded|provided|included|funded|offered)"
# after a passive offer word: the clause's end or a word that is not a noun
# ("travel is paid by us", not "travel is required and paid overtime ...")
_PASSIVE_END = (
    r"(?=\s*$|\s*[^\w\s]|\s+(?:for|by|in|up|to|and|or|on|at|as|from|free|where"
    r"|when|if|upon|within|after|back|directly|weekly|monthly)\b)"
)
_ADJECTIVE = r"(?:free|paid|funded|subsidi[sz]ed|complimentary|reimbursed)"
# the offer as the provider's own: "we pay", "you will receive"
_GIVER = (
    r"(?:\bwe(?:'ll| will| can| may| also| would| do)?\s+"
    r"(?:pay(?: for)?|cover|reimburse|refund|provide|fund|offer|give)"
    r"|\byou(?:'ll| will)?\s+(?:get|receive|be given|be provided with))"
)
_WORD = r"[\w'’&/-]+"


def _offered(thing: str) -> str:
    """``thing`` with an offer word beside it: at most five words after it
    ("travel, accommodation and meals are covered", "expenses (including
    travel) are reimbursed"), an adjective or one word
    before it ("free hot meals"), or the provider's offer up to three words
    before it ("we pay for your train fares"); no other break between."""
    return (
        rf"\b(?:{thing})\b(?:[,)]?\s+\(?{_WORD}){{0,5}}\)?\s+{_PASSIVE}\b{_PASSIVE_END}"
        rf"|\b{_ADJECTIVE}\s+(?:{_WORD}\s+)?(?:{thing})\b"
        rf"|{_GIVER}\s+(?:{_WORD}\s+){{0,3}}(?:{thing})\b"
    )


# "travel" as the job's duty ("able to travel", "you will travel across the
# region") and "transport links" are not support
_TRAVEL = (
    r"(?:travel|transport|train|bus|rail|taxi)\s+(?:costs?|expenses?|fares?|tickets?"
    r"|passes?|cards?|allowances?)"
    r"|(?<!to )(?<!will )(?<!must )(?<!can )(?<!you )travel(?!\s+(?:across|between"
    r"|around|within|throughout|abroad|nationally|widely|extensively|loans?"
    r"|schemes?)\b)"
    r"|(?<!to )transport(?!\s+links?\b)"
)
_RULES: dict[str, re.Pattern[str]] = {
    "travel": re.compile(_offered(_TRAVEL), re.I),
    "accommodation": re.compile(
        _offered(r"accommodation|overnight stays?|residential (?:stays?|weeks?)"), re.I
    ),
    "meals": re.compile(_offered(r"meals?|lunch(?:es)?|food|refreshments"), re.I),
    "equipment": re.compile(_offered(r"laptops?|equipment|uniforms?|kit"), re.I),
    "bursary": re.compile(r"\b(bursary|bursaries|grant of|stipend)\b", re.I),
    "childcare": re.compile(
        _offered(r"childcare") + r"|\bchildcare (?:vouchers|scheme)\b", re.I
    ),
}
# the thing named, but not as support to the participant: the service's own
# users', their own ("bring your own laptop"), or adjustments for disability
# ("reasonable accommodation")
_NOT_OURS = (
    r"\b(?:patients?|clients?|residents?|service users?|people in need|homeless"
    r"|rough sleepers)\b|\b(?:your|their|his|her) own\b"
)
_NOT_SUPPORT: dict[str, re.Pattern[str]] = {
    code: re.compile(_NOT_OURS + extra, re.I)
    for code, extra in (
        ("travel", ""),
        ("meals", r"|\bpaid lunch\b|\blunch ?breaks?\b"),
        ("equipment", ""),
        (
            "accommodation",
            r"|\breasonable accommodations?\b|\bsupported accommodation\b"
            r"|\baccommodation (?:and|&) (?:care|support)\b",
        ),
    )
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
            if code in support.evidence or not rule.search(sentence):
                continue
            excluded = _NOT_SUPPORT.get(code)
            if excluded is None or not excluded.search(sentence):
                support.offered.append(code)
                support.evidence[code] = sentence[:300]
    return support
