from __future__ import annotations

import pytest

from dedupe import Decision, MatchConfig, MatchRecord, match
from dedupe.cluster import ClusterRules, cluster_records

RULES = ClusterRules(link_threshold=80.0, max_cluster_size=10)


@pytest.mark.parametrize(
    ("links", "expected"),
    [
        pytest.param(
            {("a", "b"): 95.0, ("b", "c"): 95.0},
            [{"a", "b"}, {"c"}],
            id="A~B and B~C with A far from C: no chain",
        ),
        pytest.param(
            {("a", "b"): 95.0, ("b", "c"): 95.0, ("a", "c"): 70.0},
            [{"a", "b", "c"}],
            id="linked to most others: one cluster",
        ),
        pytest.param(
            {("a", "b"): 95.0, ("b", "c"): 96.0, ("c", "d"): 95.0},
            [{"a"}, {"b", "c"}, {"d"}],
            id="a path of four: only the strongest link merges",
        ),
        pytest.param({}, [{"a"}, {"b"}, {"c"}], id="no links, singletons"),
    ],
)
def test_average_linkage_does_not_chain(
    links: dict[tuple[str, str], float], expected: list[set[str]]
) -> None:
    ids = sorted({r for pair in links for r in pair} | {"a", "b", "c"})
    outcome = cluster_records(ids, links, RULES)

    assert sorted(map(sorted, outcome.clusters)) == sorted(map(sorted, expected))


ANCHORED = ClusterRules(link_threshold=80.0, max_cluster_size=10, anchor_threshold=90)


@pytest.mark.parametrize(
    ("links", "expected"),
    [
        pytest.param(
            {("a", "b"): 85.0, ("b", "c"): 88.0},
            [{"a"}, {"b"}, {"c"}],
            id="review-band pairs alone merge nothing",
        ),
        pytest.param(
            {("a", "b"): 95.0, ("b", "c"): 92.0, ("a", "c"): 84.0},
            [{"a", "b", "c"}],
            id="a review pair inside a cluster that auto pairs hold together",
        ),
        pytest.param(
            {("a", "b"): 95.0, ("a", "c"): 85.0, ("b", "c"): 85.0},
            [{"a", "b"}, {"c"}],
            id="a record tied to a cluster by review pairs only stays out",
        ),
    ],
)
def test_a_merge_rests_on_an_auto_pair(
    links: dict[tuple[str, str], float], expected: list[set[str]]
) -> None:
    outcome = cluster_records(["a", "b", "c"], links, ANCHORED)

    assert sorted(map(sorted, outcome.clusters)) == sorted(map(sorted, expected))


def _same(n: int) -> list[MatchRecord]:
    return [
        MatchRecord(
            f"r{k}", f"source{k}", "Data Apprentice", provider="Acme", outcode="LS1"
        )
        for k in range(n)
    ]


def test_cluster_past_size_limit_goes_to_review() -> None:
    config = MatchConfig(max_cluster_size=3)

    result = match(_same(5), config=config)

    assert max(len(c) for c in result.clusters) <= 3
    held = [p for p in result.review if "size limit of 3" in p.explanation]
    assert held and all(p.score >= config.auto_threshold for p in held)


def test_auto_pair_kept_apart_goes_to_review_with_reason() -> None:
    records = [
        MatchRecord("a", "s1", "Data Apprentice Leeds", provider="Acme", outcode="LS1"),
        MatchRecord(
            "b",
            "s2",
            "Data Apprentice Leeds",
            provider="Acme",
            outcode="LS1",
            closing=None,
        ),
        MatchRecord(
            "c", "s3", "Data Apprentice Leeds", provider="Acme Group", outcode="LS1"
        ),
    ]
    decisions = [Decision("a", "c", "cannot_link")]

    result = match(records, decisions)

    assert not any({"a", "c"} <= c for c in result.clusters)
    assert any("not merged" in p.explanation for p in result.review)


@pytest.mark.parametrize(
    ("decisions", "together"),
    [
        pytest.param(
            [Decision("r0", "r1", "cannot_link")], False, id="cannot-link wins"
        ),
        pytest.param(
            [Decision("r0", "r1", "cannot_link"), Decision("r1", "r0", "must_link")],
            True,
            id="the latest decision on a pair wins",
        ),
        pytest.param([], True, id="without decisions the score merges"),
    ],
)
def test_decisions_outrank_high_scores(
    decisions: list[Decision], together: bool
) -> None:
    result = match(_same(2), decisions)

    assert (frozenset({"r0", "r1"}) in result.clusters) is together


def test_must_link_outranks_a_low_score() -> None:
    records = [
        MatchRecord("a", "s1", "Summer School", provider="University of Leeds"),
        MatchRecord("b", "s2", "Coding Bootcamp", provider="Code First Girls"),
    ]

    result = match(records, [Decision("a", "b", "must_link")])

    assert frozenset({"a", "b"}) in result.clusters
    (pair,) = result.pairs
    assert pair.band == "auto" and pair.score == 100.0
    assert pair.features["model_score"] < 10.0
    assert "must-link" in pair.explanation


def test_cannot_link_keeps_a_third_record_from_joining_both() -> None:
    result = match(_same(3), [Decision("r0", "r2", "cannot_link")])

    assert not any({"r0", "r2"} <= c for c in result.clusters)
    assert any({"r0", "r1"} <= c or {"r1", "r2"} <= c for c in result.clusters)
