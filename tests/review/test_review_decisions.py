"""Decisions: undo, splits, the machine's view, moving decisions between
databases, accuracy, and the pure helpers (backoff, links, field rows)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dedupe.adapter import match_listings
from hub.web.review.accounts import backoff
from hub.web.review.accuracy import tally
from hub.web.review.compare import COLUMNS, FieldRow, field_rows
from hub.web.review.decisions import (
    decide_pair,
    latest_decisions,
    machine_view,
    pair_key,
    split_out,
    undo_last,
)
from hub.web.review.security import safe_next, safe_url
from hub.web.review.transfer import (
    TransferError,
    export_decisions,
    import_decisions,
)
from storage.models import Decision, OpportunityMember
from storage.session import transaction
from tests.review.review_builders import MATCHED, add_listings, listing_id, migrated


def _law(factory: sessionmaker[Session]) -> tuple[int, int]:
    return pair_key(
        listing_id(factory, "brightpath", "law-1"),
        listing_id(factory, "jobs_board", "law-2"),
    )


def _dm(factory: sessionmaker[Session]) -> list[int]:
    names = ("brightpath", "jobs_board", "careers_hub")
    return [listing_id(factory, s, f"dm-{n}") for n, s in enumerate(names, start=1)]


def _kinds(factory: sessionmaker[Session]) -> dict[tuple[int, int], str]:
    with factory() as session:
        return {k: d.kind for k, d in latest_decisions(session).items()}


def _decide(factory: sessionmaker[Session], key: tuple[int, int], said: str) -> None:
    with transaction(factory) as session:
        decide_pair(session, key, said, "ana", None)


def _undo(factory: sessionmaker[Session], reviewer: str = "ana") -> list[Any]:
    with transaction(factory) as session:
        return undo_last(session, reviewer)


@pytest.mark.db
def test_repeated_undo_walks_back_through_actions(
    matched: sessionmaker[Session],
) -> None:
    law, dm = _law(matched), _dm(matched)
    _decide(matched, law, "same")
    _decide(matched, pair_key(dm[0], dm[1]), "different")

    first, second, third = _undo(matched), _undo(matched), _undo(matched)

    assert first == [pair_key(dm[0], dm[1])]
    assert second == [law]
    assert third == []
    assert set(_kinds(matched).values()) == {"undo"}


@pytest.mark.db
def test_undo_takes_back_a_whole_split_and_only_ones_own(
    matched: sessionmaker[Session],
) -> None:
    dm = _dm(matched)
    with transaction(matched) as session:
        split = split_out(session, dm[2], "ana", "different employer")
    _decide(matched, _law(matched), "same")  # by ana, undone first
    with transaction(matched) as session:
        decide_pair(session, pair_key(dm[0], dm[1]), "unsure", "bea", None)

    _undo(matched)
    undone = _undo(matched)

    assert sorted(undone) == sorted(split)
    assert len(split) == 2
    assert _kinds(matched)[pair_key(dm[0], dm[1])] == "unsure"


@pytest.mark.db
def test_undoing_a_decision_that_replaced_anothers_brings_it_back(
    matched: sessionmaker[Session],
) -> None:
    """A reviewer's undo takes back their own word, never a colleague's."""
    law = _law(matched)
    with transaction(matched) as session:
        decide_pair(session, law, "same", "ana", None)
        decide_pair(session, law, "different", "bea", None)

    assert _undo(matched, "bea") == [law]
    assert _kinds(matched)[law] == "must_link"
    match_listings(matched)

    with matched() as session:
        together = {session.get_one(OpportunityMember, i).opportunity_id for i in law}
    assert len(together) == 1  # ana's must-link is applied again
    assert _undo(matched, "bea") == []  # bea has nothing left to take back
    assert _undo(matched, "ana") == [law]
    assert _kinds(matched)[law] == "undo"


@pytest.mark.db
def test_an_undo_is_a_new_decision_never_a_delete(
    matched: sessionmaker[Session],
) -> None:
    _decide(matched, _law(matched), "different")

    _undo(matched)

    with matched() as session:
        kinds = [
            d.kind for d in session.scalars(select(Decision).order_by(Decision.id))
        ]
    assert kinds == ["cannot_link", "undo"]


@pytest.mark.db
def test_the_machines_view_survives_the_recluster_that_follows(
    matched: sessionmaker[Session],
) -> None:
    law = _law(matched)
    with matched() as session:
        before = machine_view(session, law)
    _decide(matched, law, "same")
    match_listings(matched)  # the pair now scores 100 (must-link)

    with matched() as session:
        after = machine_view(session, law)

    assert before.band == "review"
    assert 50 <= (before.score or 0) < 90
    assert (after.score, after.band) == (before.score, before.band)


@pytest.mark.db
def test_decisions_are_re_applied_on_every_later_run(
    matched: sessionmaker[Session],
) -> None:
    dm = _dm(matched)
    with transaction(matched) as session:
        split_out(session, dm[0], "ana", None)

    match_listings(matched)
    match_listings(matched)

    with matched() as session:
        member = {i: session.get_one(OpportunityMember, i).opportunity_id for i in dm}
    assert member[dm[0]] not in (member[dm[1]], member[dm[2]])
    assert member[dm[1]] == member[dm[2]]


@pytest.mark.db
def test_decisions_move_between_databases_by_source_and_key(
    matched: sessionmaker[Session], tmp_path: Path
) -> None:
    law = _law(matched)
    _decide(matched, law, "same")
    with matched() as session:
        document = export_decisions(session)
    other = migrated(f"sqlite:///{tmp_path / 'other.sqlite'}")
    add_listings(other, list(reversed(MATCHED)))  # other internal ids

    with transaction(other) as session:
        first = import_decisions(session, document)
    with transaction(other) as session:
        second = import_decisions(session, document)

    assert (first.added, first.already_present, first.unknown_listings) == (1, 0, 0)
    assert (second.added, second.already_present) == (0, 1)
    assert _kinds(other) == {_law(other): "must_link"}
    assert _law(other) != law
    other.kw["bind"].dispose()


@pytest.mark.db
def test_an_import_counts_listings_it_does_not_hold(
    matched: sessionmaker[Session], tmp_path: Path
) -> None:
    _decide(matched, _law(matched), "different")
    with matched() as session:
        document = export_decisions(session)
    other = migrated(f"sqlite:///{tmp_path / 'other.sqlite'}")
    add_listings(other, MATCHED[:1])

    with transaction(other) as session:
        summary = import_decisions(session, document)

    assert (summary.added, summary.unknown_listings) == (0, 1)
    other.kw["bind"].dispose()


BAD_FILES = [
    pytest.param([], id="not an object"),
    pytest.param({"format": "other/1", "decisions": []}, id="another format"),
    pytest.param(
        {"format": "opportunity-hub-decisions/1", "decisions": [{"kind": "x"}]},
        id="a malformed decision",
    ),
    pytest.param(
        {
            "format": "opportunity-hub-decisions/1",
            "decisions": [
                {
                    "a": {"source": "s", "source_key": "1"},
                    "b": {"source": "s", "source_key": "2"},
                    "kind": "must_link",
                    "reviewer": "ana",
                    "at": "2026-03-01T09:00:00",
                }
            ],
        },
        id="a time without a zone",
    ),
]


@pytest.mark.db
@pytest.mark.parametrize("document", BAD_FILES)
def test_a_file_this_hub_did_not_write_is_refused(
    factory: sessionmaker[Session], document: Any
) -> None:
    with pytest.raises(TransferError), transaction(factory) as session:
        import_decisions(session, document)


ACCURACY_CASES = [
    pytest.param(
        [("must_link", "auto", 97.0), ("cannot_link", "auto", 92.0)],
        {"auto": (2, 1)},
        id="auto: right when reviewers said same",
    ),
    pytest.param(
        [("must_link", "review", 70.0), ("cannot_link", "review", 55.0)],
        {"review": (2, 1)},
        id="review: leans same at 50 or more",
    ),
    pytest.param(
        [("cannot_link", "distinct", 30.0)],
        {"distinct": (1, 1)},
        id="distinct: right when reviewers said different",
    ),
    pytest.param(
        [("cannot_link", None, None)],
        {None: (1, 0)},
        id="never scored: counted, no call",
    ),
]


@pytest.mark.parametrize(("rulings", "expected"), ACCURACY_CASES)
def test_accuracy_by_band(
    rulings: list[tuple[str, str | None, float | None]],
    expected: dict[str | None, tuple[int, int]],
) -> None:
    rows = {row.band: (row.checked, row.right) for row in tally(rulings)}

    assert {band: rows[band] for band in expected} == expected
    assert sum(checked for checked, _ in rows.values()) == len(rulings)


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [
        pytest.param(3, 0, id="three free"),
        pytest.param(4, 2, id="then 2 s"),
        pytest.param(6, 8, id="doubling"),
        pytest.param(500, 900, id="at most 15 minutes"),
    ],
)
def test_sign_in_backoff(failures: int, seconds: int) -> None:
    assert backoff(failures) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("https://a.example.org/x", "https://a.example.org/x", id="https"),
        pytest.param("http://a.example.org/", "http://a.example.org/", id="http"),
        pytest.param("javascript:alert(1)", None, id="javascript"),
        pytest.param("JavaScript:alert(1)", None, id="javascript, any case"),
        pytest.param("data:text/html,<b>x</b>", None, id="data"),
        pytest.param("//evil.example.org/", None, id="scheme-relative"),
        pytest.param("https:///nohost", None, id="no host"),
        pytest.param("https://a.example.org/ x", None, id="inner space"),
        pytest.param(42, None, id="not a string"),
    ],
)
def test_only_http_links_are_shown(value: object, expected: str | None) -> None:
    assert safe_url(value) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/review/pairs/1-2", "/review/pairs/1-2", id="a review page"),
        pytest.param("https://evil.example.org/", "/review", id="another site"),
        pytest.param("//evil.example.org/review", "/review", id="scheme-relative"),
        pytest.param("/feed", "/review", id="not a review page"),
        pytest.param("/review\\@evil", "/review", id="backslash"),
        pytest.param(None, "/review", id="none"),
    ],
)
def test_sign_in_only_returns_to_review_pages(path: str | None, expected: str) -> None:
    assert safe_next(path) == expected


def _listing(**values: Any) -> Any:
    base: dict[str, Any] = dict.fromkeys(COLUMNS)
    fields = values.pop("fields", {})
    return SimpleNamespace(
        **{**base, **values}, fields=fields, source=SimpleNamespace(name="s")
    )


def _row(rows: list[FieldRow], name: str) -> FieldRow:
    return next(row for row in rows if row.name == name)


@pytest.mark.parametrize(
    ("a", "b", "name", "differs"),
    [
        pytest.param({"title": "Law"}, {"title": "Law"}, "title", False, id="equal"),
        pytest.param(
            {"title": "Law  School"},
            {"title": "law school"},
            "title",
            False,
            id="case and spacing do not count",
        ),
        pytest.param({"title": "Law"}, {"title": "Art"}, "title", True, id="differs"),
        pytest.param({"title": None}, {"title": "Art"}, "title", True, id="one empty"),
        pytest.param(
            {"fields": {"mode": "remote"}},
            {"fields": {}},
            "mode",
            True,
            id="a normalised field only one side has",
        ),
    ],
)
def test_fields_that_differ_are_marked(
    a: dict[str, Any], b: dict[str, Any], name: str, differs: bool
) -> None:
    rows = field_rows(_listing(**a), _listing(**b))

    assert _row(rows, name).differs is differs


def test_links_in_fields_are_http_only() -> None:
    rows = field_rows(
        _listing(url="javascript:alert(1)", apply_url="https://a.example.org/apply"),
        _listing(url="https://b.example.org/"),
    )

    assert (_row(rows, "url").a_link, _row(rows, "url").b_link) == (
        None,
        "https://b.example.org/",
    )
    assert _row(rows, "apply_url").a_link == "https://a.example.org/apply"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        pytest.param({"kind": "must_link"}, "decision 0 has no 'at'", id="missing"),
        pytest.param(
            {"at": "yesterday", "a": {}, "b": {}, "kind": "must_link"},
            "'at' must be an ISO 8601 time",
            id="not a time",
        ),
    ],
)
def test_a_malformed_decision_is_named_in_words(entry: Any, message: str) -> None:
    from hub.web.review.transfer import _checked

    with pytest.raises(TransferError, match=message):
        _checked(entry, 0)
