"""A crawl run is held by its process while it crawls, and judged as it ends:
no run is left looking alive or unjudged by a job killed between stages."""

from __future__ import annotations

from typing import Any

import pytest
from prefect import flow

import flows.crawl as crawl_module
from flows.crawl import CrawlOptions, crawl_source
from flows.db import dispose_engines
from hub.registry import SourceEntry
from spiders.items import ProviderKind
from storage.lifecycle import is_run_held
from storage.models_health import CrawlHealth

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("prefect_harness")]

ENTRY = SourceEntry(name="brightpath", spider="x", provider_kind=ProviderKind.CHARITY)
STATS = {
    "finish_reason": "finished",
    "item_scraped_count": 2,
    "downloader/response_count": 2,
    "store/new": 2,
}


@flow(name="crawl-once")
def crawl_once(options: CrawlOptions) -> Any:
    return crawl_source.fn(ENTRY, options)


def test_the_run_is_held_while_it_crawls_and_judged_as_it_ends(
    store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.source(ENTRY.name)
    seen: dict[str, bool] = {}

    def child(entry, options, source_id: int, run_id: int):
        with store.factory() as session:
            seen["held"] = is_run_held(session, run_id)
        return dict(STATS), None

    monkeypatch.setattr(crawl_module, "_run_child", child)
    try:
        outcome = crawl_once(CrawlOptions(database_url=store.url))
    finally:
        dispose_engines()
    with store.factory() as session:
        held_after = is_run_held(session, outcome.run_id)
        verdict = session.get_one(CrawlHealth, outcome.run_id).verdict

    assert seen == {"held": True}
    assert outcome.status == "ok"
    assert not held_after
    assert verdict == "ok"
