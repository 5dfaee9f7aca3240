"""Normalise record fields for matching (stage 1 of normalize -> block -> score).

``processor`` is the one rapidfuzz processor used at every rapidfuzz call site
(FUZZ-02): rapidfuzz 3 does no case, accent or punctuation folding of its own.
Every ``normalize_*`` function returns None for blank or placeholder values,
and None means "no evidence", never a match.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

PLACEHOLDERS = frozenset(
    {
        "",
        "n/a",
        "na",
        "n.a.",
        "-",
        "--",
        "---",
        "tbc",
        "tba",
        "tbd",
        "none",
        "null",
        "nil",
        "unknown",
        "?",
        ".",
        "not specified",
        "not known",
    }
)
STOP_WORDS = frozenset({"the"})
_APOSTROPHES = re.compile(r"['’‘`´]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_LONE_S = re.compile(r"\b([a-z]{2,}) s\b")
_NUMBER_WORDS = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}
# Canonical spelling of legal forms; the canonical form keeps them (FUZZ-02:
# "Smith & Jones Ltd" -> "smith and jones limited").
_LEGAL_SPELLINGS = (
    ("public limited company", "plc"),
    ("community interest company", "cic"),
    ("nhs foundation trust", "nhs trust"),
    ("ltd", "limited"),
    ("incorporated", "inc"),
)
# Dropped from the end of a provider name for comparison and blocking.
_LEGAL_FORMS = frozenset({"limited", "plc", "llp", "cic", "cio", "inc", "llc"})


def fold(text: str) -> str:
    """Lower-case, strip accents, "&" -> "and", drop punctuation."""
    if text.isascii():
        text = text.lower()  # NFKD changes no ASCII text and adds no accents
    else:
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = _APOSTROPHES.sub("", text.replace("&", " and "))
    text = _NON_ALNUM.sub(" ", text).strip()
    return _LONE_S.sub(r"\1s", text)


# Passed as ``processor=`` where every input string has already been through
# ``processor`` (see ``preprocess``): the FUZZ-02 guard accepts only these two.
PREPROCESSED = None


@lru_cache(maxsize=200_000)
def processor(text: str) -> str:
    """The shared rapidfuzz processor (cached: call sites pass it per pair)."""
    return fold(text)


def preprocess(values: list[str]) -> list[str]:
    """``processor`` applied once to each value, for ``processor=PREPROCESSED``."""
    return [fold(value) for value in values]


def is_blank(value: str | None) -> bool:
    return value is None or value.strip().lower() in PLACEHOLDERS


def normalize_text(value: str | None) -> str | None:
    if is_blank(value):
        return None
    assert value is not None
    folded = fold(value)
    return folded or None


def _drop_stop_words(text: str) -> str:
    kept = [t for t in text.split() if t not in STOP_WORDS]
    return " ".join(kept) if kept else text


def normalize_org(value: str | None) -> str | None:
    """Canonical provider name: "The Prince's Trust" -> "princes trust"."""
    text = normalize_text(value)
    if text is None:
        return None
    text = f" {_drop_stop_words(text)} "
    for spelling, canonical in _LEGAL_SPELLINGS:
        text = text.replace(f" {spelling} ", f" {canonical} ")
    return text.strip()


def org_core(value: str | None) -> str | None:
    """Provider name without trailing legal forms, for comparing and blocking.

    A trailing "trust" is noise ("Princes Trust" ~ "Princes") except after
    "nhs"; the result is never empty ("NHS Trust" stays "nhs trust").
    """
    text = normalize_org(value)
    if text is None:
        return None
    tokens = text.split()
    while len(tokens) > 1 and _is_noise_suffix(tokens):
        tokens.pop()
    return " ".join(tokens)


def _is_noise_suffix(tokens: list[str]) -> bool:
    last = tokens[-1]
    if last in _LEGAL_FORMS:
        return True
    return last == "trust" and tokens[-2] != "nhs"


def normalize_title(value: str | None) -> str | None:
    """Folded title with number words as digits; "Level 3" stays "level 3"."""
    text = normalize_text(value)
    if text is None:
        return None
    tokens = [_NUMBER_WORDS.get(t, t) for t in text.split()]
    return _drop_stop_words(" ".join(tokens))


def title_numbers(title: str | None) -> frozenset[str]:
    if title is None:
        return frozenset()
    return frozenset(t for t in title.split() if t.isdigit())


def normalize_phone(value: str | None) -> str | None:
    """Digits only, national form (UK +44 / leading 0 removed); None if junk."""
    if is_blank(value):
        return None
    assert value is not None
    digits = re.sub(r"\D", "", value)
    if digits.startswith("44") and len(digits) >= 12:
        digits = digits[2:]
    digits = digits.lstrip("0")
    if len(digits) < 6 or len(set(digits)) == 1:
        return None
    return digits[-10:]


def normalize_reference(value: object) -> str | None:
    """A listing's reference as an id that other sources may carry with it
    (a vacancy or job reference), upper-case letters and digits only. None
    unless distinctive: six or more of them, letters and digits both, since
    bare numbers and short codes recur across unrelated sources."""
    if not isinstance(value, str):
        return None
    compact = re.sub(r"[^0-9A-Z]", "", value.upper())
    if len(compact) < 6 or compact.isdigit() or compact.isalpha():
        return None
    return compact


def normalize_url(value: str | None) -> str | None:
    """Host and path, lower-case host, no scheme, "www." or trailing slash."""
    if is_blank(value):
        return None
    assert value is not None
    text = re.sub(r"^[a-z]+://", "", value.strip(), flags=re.IGNORECASE)
    host, _, path = text.partition("/")
    host = host.lower().removeprefix("www.")
    if "." not in host:
        return None
    return f"{host}/{path}".rstrip("/")


def url_host(url: str | None) -> str | None:
    return None if url is None else url.partition("/")[0]


def normalize_outcode(postcode: str | None, outcode: str | None) -> str | None:
    """UK outcode ("SW1A 1AA" -> "SW1A"); an explicit outcode wins."""
    if not is_blank(outcode):
        assert outcode is not None
        return re.sub(r"\s", "", outcode).upper()
    if is_blank(postcode):
        return None
    assert postcode is not None
    compact = re.sub(r"\s", "", postcode).upper()
    return compact[:-3] if len(compact) > 4 else compact


_STREET_WORDS = {
    "street": "st",
    "avenue": "ave",
    "av": "ave",
    "road": "rd",
    "drive": "dr",
    "boulevard": "blvd",
    "place": "pl",
    "court": "ct",
    "lane": "ln",
    "parkway": "pkwy",
    "square": "sq",
    "terrace": "ter",
    "highway": "hwy",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
}
_DIRECTIONS = frozenset({"n", "s", "e", "w"})
_STREET_TYPES = frozenset(
    {"st", "ave", "rd", "dr", "blvd", "pl", "ct", "ln", "pkwy", "sq", "ter", "hwy"}
)
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")


def normalize_address(value: str | None) -> str | None:
    """Folded street address from the house number on, with abbreviations and
    ordinals unified: "4220 North Richmond Street" -> "4220 n richmond st"."""
    text = normalize_text(value)
    if text is None:
        return None
    tokens = [_unify_street_token(t) for t in text.split()]
    start = next((i for i, t in enumerate(tokens) if t.isdigit()), 0)
    return " ".join(tokens[start:]) or None


def _unify_street_token(token: str) -> str:
    ordinal = _ORDINAL.match(token)
    if ordinal:
        return ordinal.group(1)
    return _STREET_WORDS.get(token, token)


def split_address(address: str | None) -> tuple[str | None, str | None]:
    """(house number, street name) of a normalised address: the street is the
    first word after the number that is not a direction or a street type."""
    if address is None:
        return None, None
    tokens = address.split()
    house = tokens[0] if tokens[0].isdigit() else None
    rest = tokens[1:] if house else tokens
    if house and len(rest) > 1 and rest[0].isdigit() and rest[1] in _DIRECTIONS:
        rest = rest[1:]  # a range of house numbers: "5332-34 W Addison"
    street = next(
        (t for t in rest if t not in _DIRECTIONS and t not in _STREET_TYPES), None
    )
    return house, street


_CODE_SPLIT = re.compile(r"[\s/,;:()\[\]]+")
_UNIT = re.compile(
    r"^\d+(?:\.\d+)?(?:mm|cm|m|in|inch|ft|gb|mb|tb|kb|ghz|mhz|hz|w|v|mah|mbps|gbps|"
    r"p|x|port|ports|lb|lbs|oz|mp|k|qt|cu|pc|pcs|pk|yr|yrs|hr|hrs|min|day|days)$"
)


def extract_codes(value: str | None) -> frozenset[str]:
    """Reference-like tokens (model numbers, vacancy refs): letters with digits
    (two, or one in five characters), or six digits; hyphens removed; units
    ("10ft") and ordinals left out."""
    if is_blank(value):
        return frozenset()
    assert value is not None
    codes = set()
    for raw in _CODE_SPLIT.split(fold_keep_hyphen(value)):
        token = raw.replace("-", "").replace(".", "")
        if _looks_like_code(token):
            codes.add(token)
    return frozenset(codes)


def fold_keep_hyphen(text: str) -> str:
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower()


def _looks_like_code(token: str) -> bool:
    if len(token) < 4 or not token.isalnum():
        return False
    if token.isdigit():
        return len(token) >= 6
    digits = sum(ch.isdigit() for ch in token)
    if digits == 0 or _UNIT.match(token) or _ORDINAL.match(token):
        return False
    return digits >= 2 or len(token) >= 5


def code_stem(code: str) -> str:
    """A model number without its trailing letters ("mdrex55bk" -> "mdrex55"),
    which shops often use for colour or region."""
    return code.rstrip("abcdefghijklmnopqrstuvwxyz")


def compact(value: str | None) -> str:
    """Letters and digits only, for finding a code inside another text."""
    return "" if value is None else re.sub(r"[^a-z0-9]", "", fold(value))
