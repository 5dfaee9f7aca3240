"""The deployed flow: one run per slot, only due sources, missed slots alerted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import flows.scheduled as scheduled

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("prefect_harness")]

REGISTRY = """
[[source]]
name = "brightpath"
spider = "x"
provider_kind = "charity"
schedule = "0 6 * * *"
"""
SLOT = datetime(2027, 3, 29, 5, 0, tzinfo=UTC)


@pytest.fixture
def crawled(store, tmp_path, monkeypatch, receiver):
    """The sources each run handed to ``refresh``."""
    registry = tmp_path / "sources.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    monkeypatch.setenv("HUB_REGISTRY", str(registry))
    monkeypatch.setenv("HUB_DATABASE_URL", store.url)
    monkeypatch.setenv("HUB_ALERT_WEBHOOK", receiver.url)
    calls: list[list[str]] = []
    monkeypatch.setattr(
        scheduled,
        "refresh",
        lambda entries, *_: calls.append([e.name for e in entries]),
    )
    return calls


def run_at(monkeypatch, slot, **params):
    monkeypatch.setattr(scheduled, "scheduled_slot", lambda: slot)
    return scheduled.scheduled_refresh(family="charity", **params)


def test_a_second_run_for_the_same_slot_crawls_nothing(crawled, monkeypatch):
    first = run_at(monkeypatch, SLOT)
    second = run_at(monkeypatch, SLOT)

    assert (first.claimed, second.claimed) == (True, False)
    assert crawled == [["brightpath"]]


@pytest.mark.parametrize(
    ("force", "expected"),
    [
        pytest.param(False, [], id="crawled an hour ago: not due"),
        pytest.param(True, [["brightpath"]], id="forced"),
    ],
)
def test_only_due_sources_are_crawled(crawled, store, monkeypatch, force, expected):
    store.source("brightpath")
    store.run("brightpath", ["a", "b"])

    report = run_at(monkeypatch, datetime.now(UTC), force=force)

    assert crawled == expected
    assert report.due == [name for names in expected for name in names]


def test_a_slot_no_run_worked_is_alerted(crawled, monkeypatch, receiver):
    # Saturday's 06:00 GMT slot ran; Sunday's (05:00Z, the clocks went forward) not
    run_at(monkeypatch, datetime(2027, 3, 27, 6, 0, tzinfo=UTC))

    report = run_at(monkeypatch, SLOT)

    assert report.missed == [SLOT - timedelta(days=1)]
    assert receiver.kinds() == ["run-missed"]
    assert receiver.received[0]["facts"]["slot"] == "2027-03-28T05:00:00+00:00"
