from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
from rapidfuzz import fuzz, process

from dedupe import MatchRecord, match
from dedupe.compare import provider_feature
from dedupe.normalize import (
    extract_codes,
    normalize_address,
    normalize_org,
    normalize_phone,
    normalize_reference,
    normalize_text,
    normalize_title,
    org_core,
    processor,
)
from dedupe.prepared import prepare

DEDUPE_SOURCES = Path(__file__).resolve().parents[2] / "dedupe"
MERGE_THRESHOLD = 90.0  # 0-100, the default auto-merge band


def _provider_similarity(a: str, b: str) -> float:
    prep = prepare(
        [
            MatchRecord("a", "s1", "x", provider=a),
            MatchRecord("b", "s2", "x", provider=b),
        ]
    )
    return float(provider_feature(prep, np.array([0]), np.array([1]), 1)[0])


# FUZZ-02, cases 1-4: equal after normalisation, so score 100.
@pytest.mark.parametrize(
    ("a", "b", "normalised"),
    [
        pytest.param(
            "Smith & Jones Ltd",
            "SMITH AND JONES LIMITED",
            "smith and jones limited",
            id="fuzz02-1-ampersand-and-ltd",
        ),
        pytest.param(
            "Société Générale UK",
            "Societe Generale UK",
            "societe generale uk",
            id="fuzz02-2-accents",
        ),
        pytest.param(
            "The Prince's Trust",
            "Princes Trust",
            "princes trust",
            id="fuzz02-3-the-and-apostrophe",
        ),
        pytest.param(
            "St. John Ambulance",
            "St John Ambulance",
            "st john ambulance",
            id="fuzz02-4-full-stop",
        ),
    ],
)
def test_fuzz02_equal_after_normalisation(a: str, b: str, normalised: str) -> None:
    assert normalize_org(a) == normalize_org(b) == normalised
    assert _provider_similarity(a, b) == 100.0


# FUZZ-02, cases 5-6: no provider evidence at all, never a merge.
@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("", "", id="fuzz02-5-empty"),
        pytest.param("N/A", "-", id="fuzz02-6-placeholders"),
    ],
)
def test_fuzz02_blank_gives_no_evidence(a: str, b: str) -> None:
    records = [
        MatchRecord("a", "s1", "Mentoring", provider=a),
        MatchRecord("b", "s2", "Insight day", provider=b),
    ]

    result = match(records)

    assert normalize_org(a) is None and normalize_org(b) is None
    assert math.isnan(_provider_similarity(a, b))
    assert frozenset({"a", "b"}) not in result.clusters
    assert all("provider" not in p.features for p in result.pairs)


def test_fuzz02_different_names_stay_below_merge_threshold() -> None:
    assert _provider_similarity("Career Ready", "Career Connect") < MERGE_THRESHOLD


def test_fuzz02_same_score_through_fuzz_and_cdist() -> None:
    a, b = normalize_org("Smith & Jones Ltd"), normalize_org("SMITH AND JONES LIMITED")
    assert a is not None and b is not None

    single = fuzz.WRatio(a, b, processor=processor)
    matrix = process.cdist([a], [b], scorer=fuzz.WRatio, processor=processor)

    assert single == matrix[0][0] == 100.0
    raw = fuzz.WRatio("Smith & Jones Ltd", "SMITH AND JONES LIMITED", processor=None)
    assert raw < 100.0  # what the normalisation is for


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        pytest.param(
            "Imperial College Healthcare NHS Trust",
            "Imperial College Healthcare NHS Foundation Trust",
            True,
            id="nhs-foundation-trust-is-nhs-trust",
        ),
        pytest.param("Sutton Trust", "The Sutton Trust", True, id="trust-as-noise"),
        pytest.param("Acme Ltd", "ACME", True, id="legal-suffix-dropped-for-comparing"),
        pytest.param("Acme CIC", "Acme plc", True, id="cic-and-plc"),
        pytest.param("Career Ready", "Career Connect", False, id="different-names"),
        pytest.param(
            "Leeds Teaching Hospitals NHS Trust",
            "Leeds Community Healthcare NHS Trust",
            False,
            id="two-nhs-trusts",
        ),
    ],
)
def test_org_core(a: str, b: str, same: bool) -> None:
    assert (org_core(a) == org_core(b)) is same


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("NHS Trust", "nhs trust", id="nhs-trust-never-empty"),
        pytest.param("Trust", "trust", id="trust-alone-never-empty"),
        pytest.param("The Ltd", "limited", id="suffix-alone-never-empty"),
    ],
)
def test_org_core_never_empty(value: str, expected: str) -> None:
    assert org_core(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="spaces"),
        pytest.param("N/A", id="n-a"),
        pytest.param("-", id="dash"),
        pytest.param("TBC", id="tbc"),
        pytest.param("?!", id="punctuation-only"),
        pytest.param(None, id="none"),
    ],
)
def test_placeholders_are_none(value: str | None) -> None:
    assert normalize_text(value) is None
    assert normalize_org(value) is None
    assert normalize_phone(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("Level 3 Apprenticeship", "level 3 apprenticeship", id="level-3"),
        pytest.param(
            "Level Three Apprenticeship", "level 3 apprenticeship", id="words"
        ),
        pytest.param("The Summer School", "summer school", id="stop-word"),
        pytest.param("Children?s House", "childrens house", id="lost-apostrophe"),
    ],
)
def test_normalize_title(value: str, expected: str) -> None:
    assert normalize_title(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("4220 North Richmond Street", "4220 n richmond st", id="words"),
        pytest.param("Hayes Center\n124 E. 113th St.", "124 e 113 st", id="ordinal"),
    ],
)
def test_normalize_address(value: str, expected: str) -> None:
    assert normalize_address(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("Belkin Cable - F3H982-10", {"f3h98210"}, id="hyphen-removed"),
        pytest.param("Switch 8-Port 10/100 10ft", set(), id="units-are-not-codes"),
        pytest.param("Apprenticeship ref 1234567", {"1234567"}, id="long-number"),
    ],
)
def test_extract_codes(value: str, expected: set[str]) -> None:
    assert extract_codes(value) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("+44 20 7946 0018", "020 7946 0018", id="uk-international"),
        pytest.param("(773) 534-1804", "773.534.1804", id="punctuation"),
    ],
)
def test_normalize_phone(a: str, b: str) -> None:
    assert normalize_phone(a) == normalize_phone(b) is not None


# FUZZ-02 regression guard: every rapidfuzz call in dedupe/ passes the shared
# processor, or PREPROCESSED for input already through it (see
# test_preprocessed_input_is_the_processors_output); scorers appear only as
# calls or as a ``scorer=`` argument.
SHARED = frozenset({"processor", "PREPROCESSED"})


def rapidfuzz_violations(source: str) -> list[str]:
    tree = ast.parse(source)
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "rapidfuzz"
        ):
            names = {alias.name for alias in node.names}
            if node.module != "rapidfuzz" or not names <= {"fuzz", "process"}:
                problems.append(f"line {node.lineno}: import rapidfuzz modules only")
        if isinstance(node, ast.Call) and _is_rapidfuzz(node.func):
            keyword = {k.arg: k.value for k in node.keywords}.get("processor")
            if not (isinstance(keyword, ast.Name) and keyword.id in SHARED):
                problems.append(f"line {node.lineno}: call without processor=processor")
    allowed = _allowed_references(tree)
    for node in ast.walk(tree):
        if _is_rapidfuzz(node) and id(node) not in allowed:
            problems.append(f"line {node.lineno}: scorer used outside a call")
    return problems


def _is_rapidfuzz(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in {"fuzz", "process"}
    )


def _allowed_references(tree: ast.AST) -> set[int]:
    allowed = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            allowed.add(id(node.func))
            allowed.update(id(k.value) for k in node.keywords if k.arg == "scorer")
            allowed.update(id(a) for a in node.args if _is_rapidfuzz(a))
    return allowed


@pytest.mark.parametrize(
    ("source", "clean"),
    [
        pytest.param(
            "from rapidfuzz import fuzz\nfuzz.ratio(a, b, processor=processor)\n",
            True,
            id="shared-processor",
        ),
        pytest.param(
            "from rapidfuzz import fuzz\nfuzz.ratio(a, b)\n", False, id="no-processor"
        ),
        pytest.param(
            "from rapidfuzz import process\n"
            "process.cdist(a, b, processor=default_process)\n",
            False,
            id="another-processor",
        ),
        pytest.param(
            "from rapidfuzz.fuzz import ratio\n", False, id="imported-scorer-evades"
        ),
        pytest.param(
            "from rapidfuzz import fuzz\nscore = fuzz.ratio\n",
            False,
            id="aliased-scorer",
        ),
    ],
)
def test_guard_detects_unprocessed_calls(source: str, clean: bool) -> None:
    assert (rapidfuzz_violations(source) == []) is clean


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=p.name) for p in sorted(DEDUPE_SOURCES.glob("*.py"))],
)
def test_every_rapidfuzz_call_site_uses_the_shared_processor(path: Path) -> None:
    assert rapidfuzz_violations(path.read_text(encoding="utf-8")) == []


def test_the_guard_sees_the_call_sites() -> None:
    trees = [
        ast.parse(p.read_text(encoding="utf-8")) for p in DEDUPE_SOURCES.glob("*.py")
    ]
    calls = [
        node
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _is_rapidfuzz(node.func)
    ]
    assert len(calls) >= 2  # block's cdist and compare's cpdist at least


@pytest.mark.parametrize(
    "title",
    [
        pytest.param("Level 3 Business Admin", id="ascii"),
        pytest.param("Société Générale s s Apprentice", id="accents and lone s"),
        pytest.param("The Prince's Trust & Co", id="apostrophe and ampersand"),
    ],
)
def test_preprocessed_input_is_the_processors_output(title: str) -> None:
    column = prepare([MatchRecord("a", "s", title)]).title

    assert column.processed() == [processor(v) for v in column.values]
    assert column.sorted_tokens()[0] == " ".join(
        sorted(processor(column.values[0]).split())
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("VAC1000123456", "VAC1000123456", id="vacancy reference"),
        pytest.param("c9123-24-0456", "C9123240456", id="separators and case go"),
        pytest.param("412345", None, id="a bare number recurs across sources"),
        pytest.param("AB12", None, id="too short"),
        pytest.param("REFERENCE", None, id="letters only"),
        pytest.param(None, None, id="none"),
        pytest.param(["VAC1000123456"], None, id="not text"),
    ],
)
def test_normalize_reference(value: object, expected: str | None) -> None:
    assert normalize_reference(value) == expected
