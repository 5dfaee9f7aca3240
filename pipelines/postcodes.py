"""Find and normalise UK postcodes (case GEO-01).

A full postcode is an outward code (area letters, district digits, optional letter)
and an inward code (a digit and two letters; the letters never use C I K M O V).
Only the postcode areas that exist are accepted, which keeps course codes such as
"A12 77Y" and most reference numbers out. An outward code on its own is taken only
when written in capitals, at the end of a place ("Manchester M1", "Leeds LS1, UK"),
and either after a label on the same line ("Location:", "Venue:", "Postcode:") or
in text the caller says is an address (``find_postcodes(text, address=True)``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# Every current postcode area, plus BX (non-geographic) and the Crown dependencies.
POSTCODE_AREAS = frozenset(
    """
    AB AL B BA BB BD BF BH BL BN BR BS BT BX CA CB CF CH CM CO CR CT CV CW DA DD DE
    DG DH DL DN DT DY E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM
    IP IV JE KA KT KW KY L LA LD LE LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL
    OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP SR SS ST SW SY TA TD
    TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE
    """.split()
)

_OUTWARD = r"(?P<area>[A-Z]{1,2})(?P<district>[0-9][0-9A-Z]?)"
_INWARD = r"(?P<incode>[0-9][ABD-HJLNP-UW-Z]{2})"
_GAP = r"[^\S\r\n]{0,3}"
_FULL = re.compile(
    rf"(?<![A-Z0-9]){_OUTWARD}{_GAP}{_INWARD}(?![A-Z0-9])", re.IGNORECASE
)
_GIRO = re.compile(rf"(?<![A-Z0-9])GIR{_GAP}0AA(?![A-Z0-9])", re.IGNORECASE)
_OUTCODE_ONLY = re.compile(rf"(?<![A-Za-z0-9]){_OUTWARD}(?![A-Za-z0-9])")
_OUTCODE_VALUE = re.compile(rf"\s*{_OUTWARD}\s*", re.IGNORECASE)
_FULL_VALUE = re.compile(rf"\s*{_OUTWARD}\s*{_INWARD}\s*\.?\s*", re.IGNORECASE)

# What may follow an outcode that closes an address: end, punctuation, a country.
_OUTCODE_TAIL = re.compile(
    r"\s*(?:$|[,;()\n]|\.(?:\s|$)|-\s|\s*(?:UK|United Kingdom|England|Scotland|Wales"
    r"|Northern Ireland)\b)"
)
_PLACE_WORD = re.compile(r"(?:^|[\s,(])([A-Z][a-z][A-Za-z'\-]*),?\s+$")
_POSTCODE_LABEL = re.compile(r"(?i)\bpost\s?code\s*[:\-]?\s*$")
_LOCATION_LABEL = re.compile(
    r"(?i)\b(?:location|address|venue|where|based in|located in|held in|held at"
    r"|campus|office|site|workplace)\b\s*[:\-]?"
)
_LABEL_THEN_CODE = re.compile(_LOCATION_LABEL.pattern + r"\s*$")
# How far before an outward code a "Location:" label may be.
_LOOK_BACK = 80
# Capitalised words that precede codes which are not places.
_NOT_PLACES = frozenset(
    """
    band bay block building call code course exam fax flat floor form gate grade
    group id item junction key level lot module motorway no number page paper
    part phone platform plot reference ref room route seat section stage step
    suite table tel telephone tier unit version year zone
    """.split()
)


@dataclass(frozen=True)
class PostcodeMatch:
    postcode: str | None
    outcode: str
    incode: str | None
    precision: str  # "full" | "outcode"


def normalise_postcode(text: str | None) -> PostcodeMatch | None:
    """Read a value that should be a postcode (or an outward code alone)."""
    if not isinstance(text, str):
        return None
    if _GIRO.fullmatch(text.strip().rstrip(".")):
        return _full("GIR", "0AA")
    full = _FULL_VALUE.fullmatch(text)
    if full and _known_area(full["area"]):
        return _full(full["area"] + full["district"], full["incode"])
    outward = _OUTCODE_VALUE.fullmatch(text)
    if outward and _known_area(outward["area"]):
        return _outcode(outward["area"] + outward["district"])
    return None


def find_postcodes(text: str | None, *, address: bool = False) -> list[PostcodeMatch]:
    """Postcodes inside free text, in order of appearance, without repeats.

    ``address=True`` says the whole text is a location (a spider's location text),
    so an outward code closing a place name counts without a "Location:" label.
    """
    if not isinstance(text, str) or not text:
        return []
    found = [(m.start(), _full("GIR", "0AA")) for m in _GIRO.finditer(text)]
    found += _find_full(text)
    starts = {position for position, _ in found}
    found += [
        (position, match)
        for position, match in _find_outcodes(text, address)
        if position not in starts
    ]
    found.sort(key=lambda pair: pair[0])
    return list(dict.fromkeys(match for _, match in found))


def _find_full(text: str) -> list[tuple[int, PostcodeMatch]]:
    matches = []
    for m in _FULL.finditer(text):
        if _known_area(m["area"]):
            matches.append((m.start(), _full(m["area"] + m["district"], m["incode"])))
    return matches


def _find_outcodes(text: str, address: bool) -> list[tuple[int, PostcodeMatch]]:
    matches = []
    for m in _OUTCODE_ONLY.finditer(text):
        if _known_area(m["area"]) and _closes_place(text, m.start(), m.end(), address):
            logger.debug("Outcode-only match %s in %r", m.group(), text)
            matches.append((m.start(), _outcode(m["area"] + m["district"])))
    return matches


def _closes_place(text: str, start: int, end: int, address: bool) -> bool:
    if not _OUTCODE_TAIL.match(text, end):
        return False
    line_start = text.rfind("\n", 0, start) + 1
    line = text[max(line_start, start - _LOOK_BACK) : start]
    if _POSTCODE_LABEL.search(line) or _LABEL_THEN_CODE.search(line):
        return True
    if not (address or _LOCATION_LABEL.search(line)):
        return False
    word = _PLACE_WORD.search(line)
    return bool(word) and word.group(1).lower() not in _NOT_PLACES


def _known_area(area: str) -> bool:
    return area.upper() in POSTCODE_AREAS


def _full(outcode: str, incode: str) -> PostcodeMatch:
    outcode, incode = outcode.upper(), incode.upper()
    return PostcodeMatch(f"{outcode} {incode}", outcode, incode, "full")


def _outcode(outcode: str) -> PostcodeMatch:
    return PostcodeMatch(None, outcode.upper(), None, "outcode")
