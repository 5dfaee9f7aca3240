"""The refresh flow end to end on fake crawls: health, expiry, artifacts, alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from prefect import flow

from dedupe.adapter import MatchSummary
from flows.alerts import AlertSettings
from flows.crawl import CrawlOptions, CrawlOutcome
from hub.registry import SourceEntry
from spiders.items import ProviderKind

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("prefect_harness")]

KEYS = [f"opp-{i}" for i in range(12)]
BRIGHTPATH = SourceEntry(
    name="brightpath", spider="x", provider_kind=ProviderKind.CHARITY
)
NORTHFIELD = SourceEntry(
    name="northfield", spider="x", provider_kind=ProviderKind.CHARITY
)


@dataclass
class FakeCrawls:
    """Stands in for ``crawl_source``: each call plays the next planned answer."""

    store: Any
    plans: dict[str, list[tuple[str, list[str], str | None]]]
    calls: list[str] = field(default_factory=list)

    def fn(self, entry: SourceEntry, options: CrawlOptions) -> CrawlOutcome:
        from storage.models import CrawlRun
        from storage.session import transaction

        self.calls.append(entry.name)
        status, keys, error = self.plans[entry.name].pop(0)
        run_id = self.store.run(entry.name, keys, status=status, judge=False)
        with transaction(self.store.factory) as session:
            stats = session.get_one(CrawlRun, run_id).stats
            session.get_one(CrawlRun, run_id).error = error
        return CrawlOutcome(entry.name, run_id, status, stats, error)


@flow(name="match")
def match_nothing(database_url: str) -> MatchSummary:
    """Matching is dedupe's to test; here only the order of stages matters."""
    return MatchSummary(0, 0, 0, 0, 0, {})


def refresh_once(store, monkeypatch, fake, entries, live=False, webhook=None):
    import flows.refresh as refresh_module

    monkeypatch.setattr(refresh_module, "crawl_source", fake)
    monkeypatch.setattr(refresh_module, "match", match_nothing)
    monkeypatch.setattr(
        refresh_module,
        "crawl_with_retries",
        refresh_module.crawl_with_retries.with_options(retry_delay_seconds=0),
    )
    options = CrawlOptions(database_url=store.url, replay=None if live else "x.warc")
    return refresh_module.refresh(entries, options, AlertSettings(webhook_url=webhook))


def test_three_failed_runs_leave_listings_live_and_alert(store, monkeypatch, receiver):
    """CRAWL-03 through the flow: northfield's DNS fails, brightpath goes empty."""
    fake = FakeCrawls(
        store,
        {
            "brightpath": [("ok", KEYS, None)] + [("ok", [], None)] * 3,
            "northfield": [("ok", KEYS[:5], None)]
            + [("failed", [], "could not fetch: DNSLookupError")] * 3,
        },
    )
    store.source("brightpath")
    store.source("northfield")
    refresh_once(store, monkeypatch, fake, [BRIGHTPATH, NORTHFIELD])

    for _ in range(3):
        report = refresh_once(
            store, monkeypatch, fake, [BRIGHTPATH, NORTHFIELD], webhook=receiver.url
        )

    assert set(store.statuses("brightpath").values()) == {"active"}
    assert set(store.statuses("northfield").values()) == {"active"}
    assert {s.source: s.verdict for s in report.sources} == {
        "brightpath": "suspicious",
        "northfield": "failed",
    }
    assert receiver.kinds() == ["source-failed"] * 3 + ["source-suspicious"] * 3
    assert receiver.received[0]["service"] == "opportunity-hub"


def test_listings_missing_from_two_complete_runs_are_gone(store, monkeypatch):
    fake = FakeCrawls(
        store, {"brightpath": [("ok", KEYS, None)] + [("ok", KEYS[:10], None)] * 2}
    )
    store.source("brightpath")

    reports = [refresh_once(store, monkeypatch, fake, [BRIGHTPATH]) for _ in range(3)]

    statuses = store.statuses("brightpath")
    assert [statuses[k] for k in ("opp-9", "opp-10", "opp-11")] == [
        "active",
        "gone",
        "gone",
    ]
    assert [r.sources[0].gone for r in reports] == [0, 0, 2]


def test_a_transient_failure_is_retried(store, monkeypatch):
    fake = FakeCrawls(
        store,
        {
            "brightpath": [
                ("failed", [], "timed out after 1800 s"),
                ("ok", KEYS, None),
            ]
        },
    )
    store.source("brightpath")

    report = refresh_once(store, monkeypatch, fake, [BRIGHTPATH], live=True)

    assert fake.calls == ["brightpath", "brightpath"]
    assert report.crawls[0].status == "ok"


def test_a_replay_is_not_retried(store, monkeypatch):
    fake = FakeCrawls(store, {"brightpath": [("failed", [], "timed out after 1800 s")]})
    store.source("brightpath")

    report = refresh_once(store, monkeypatch, fake, [BRIGHTPATH])

    assert fake.calls == ["brightpath"]
    assert report.crawls[0].status == "failed"


def test_each_refresh_leaves_a_table_per_source_and_a_summary(store, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    fake = FakeCrawls(store, {"brightpath": [("ok", KEYS, None)]})
    store.source("brightpath")

    refresh_once(store, monkeypatch, fake, [BRIGHTPATH])

    keys = ArtifactFilter(key=ArtifactFilterKey(any_=["crawl-brightpath"]))
    summary = ArtifactFilter(key=ArtifactFilterKey(any_=["refresh-summary"]))
    with get_client(sync_client=True) as client:
        table = client.read_latest_artifacts(artifact_filter=keys)
        markdown = client.read_latest_artifacts(artifact_filter=summary)
    assert table[0].type == "table"
    assert '"new": 12' in str(table[0].data) or "'new': 12" in str(table[0].data)
    assert "brightpath" in str(markdown[0].data)


def test_a_run_counts_every_opportunity_it_changed(store):
    """Matching records merges and splits before publishing: the run's count of
    changed opportunities takes them in, not only what publishing changed."""
    from flows.publish import last_change, publish
    from storage.feed import record_change
    from storage.models import Opportunity, utcnow
    from storage.session import transaction

    with transaction(store.factory) as session:
        for name in ("opp_a", "opp_b"):
            session.add(
                Opportunity(
                    id=name, created=utcnow(), modified=utcnow(), title=name, golden={}
                )
            )
    assert publish(store.url).changed == 2
    before = last_change(store.url)
    with transaction(store.factory) as session:
        merged = session.get_one(Opportunity, "opp_b")
        record_change(session, merged, "merged", {"ids": ["opp_a"]})
        record_change(session, session.get_one(Opportunity, "opp_a"), "updated")

    assert publish(store.url).changed == 0
    assert publish(store.url, since=before).changed == 2
