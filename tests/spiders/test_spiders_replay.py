"""The shared recording replayed through every spider that has a source in it.

The spiders run in this process without an engine: each request is answered by
the recording's own index (:class:`spiders.recording.Recording`), its callback
or errback is called, and what it yields is collected. Nothing is sent.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request, Spider
from scrapy.http import Headers
from scrapy.responsetypes import responsetypes
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from hub.registry import SourceEntry, load_registry
from spiders.items import ListingItem
from spiders.recording import NotRecorded, Recording

pytestmark = [pytest.mark.recording, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
MAX_REQUESTS = 5000


class Replay:
    """A crawl of one source answered from the recording, without a reactor."""

    def __init__(self, recording: Recording, spider: Spider) -> None:
        self.recording = recording
        self.spider = spider
        self.items: list[ListingItem] = []
        self.not_recorded: list[str] = []
        self.answered = 0

    def run(self) -> None:
        queue = deque(asyncio.run(_collect(self.spider.start())))
        seen: set[str] = set()
        while queue and self.answered + len(self.not_recorded) < MAX_REQUESTS:
            request = queue.popleft()
            if request.url in seen and not request.dont_filter:
                continue
            seen.add(request.url)
            queue.extend(self._outputs(self._answer(request)))

    def _answer(self, request: Request) -> Any:
        recorded = self.recording.lookup(request.url)
        if recorded is None:
            self.not_recorded.append(request.url)
            if request.errback is None:
                return ()
            failure = Failure(NotRecorded(request.url))
            failure.request = request  # as Scrapy sets it for an errback
            return request.errback(failure)
        self.answered += 1
        request.meta["fetched_at"] = recorded.recorded_at
        headers = Headers(recorded.headers)
        cls = responsetypes.from_args(
            headers=headers, url=request.url, body=recorded.body
        )
        response = cls(
            url=request.url,
            status=recorded.status,
            headers=headers,
            body=recorded.body,
            request=request,
        )
        callback = request.callback or self.spider._parse
        return callback(response, **request.cb_kwargs)

    def _outputs(self, result: Any) -> list[Request]:
        if inspect.isasyncgen(result):
            result = asyncio.run(_collect(result))
        requests = []
        for output in result or ():
            if isinstance(output, ListingItem):
                self.items.append(output)
            elif isinstance(output, Request):
                requests.append(output)
        return requests


async def _collect(agen: Any) -> list[Any]:
    return [x async for x in agen]


def registry() -> dict[str, SourceEntry]:
    loader = SpiderLoader.from_settings(get_project_settings())
    entries = load_registry(REPO / "sources.toml", set(loader.list()))
    return {e.name: e for e in entries}


def replay(recording_path: Path, entry: SourceEntry) -> Replay:
    recording = Recording(recording_path)
    loader = SpiderLoader.from_settings(get_project_settings())
    crawler = get_crawler(
        loader.load(entry.spider), {"HUB_REPLAY": str(recording_path)}
    )
    crawler.spider = crawler._create_spider(source=entry.name, **entry.args)
    run = Replay(recording, crawler.spider)
    run.run()
    return run


EXPECTED = {
    "nhs_jobs": 2062,
    "greenhouse_smarterdx": 2,
    "lever_palantir": 2,
    "ashby_openevidence": 2,
}


def enabled_sources() -> list[str]:
    return [name for name, entry in registry().items() if entry.enabled]


@pytest.fixture(scope="module")
def replay_cache() -> dict[str, Replay]:
    """Each source replayed once for the module's tests."""
    return {}


@pytest.fixture
def replayed(recording, replay_cache):
    def get(source: str) -> Replay:
        if source not in replay_cache:
            replay_cache[source] = replay(recording, registry()[source])
        return replay_cache[source]

    return get


@pytest.mark.parametrize("source", [pytest.param(s, id=s) for s in enabled_sources()])
def test_every_enabled_source_replays_into_listings(replayed, source):
    run = replayed(source)

    keys = [i.source_key for i in run.items]
    assert run.answered, f"{source}: nothing of it is in the recording"
    assert keys and len(set(keys)) == len(keys)
    if source in EXPECTED:
        assert len(keys) == EXPECTED[source]
        assert run.not_recorded == []


@pytest.mark.parametrize("source", [pytest.param(s, id=s) for s in enabled_sources()])
def test_every_replayed_listing_has_its_identity_and_the_recorded_time(
    replayed, source
):
    run = replayed(source)

    for item in run.items:
        assert item.source == source
        assert item.title and item.url.startswith("https://")
        assert item.fetched_at.tzinfo is not None
        assert item.fetched_at.year in {2020, 2023, 2026}


def test_nhs_jobs_values_come_through_the_schema_org_spider(replayed):
    run = replayed("nhs_jobs")

    doctor = next(
        i
        for i in run.items
        if i.source_key == "https://www.jobs.nhs.uk/xi/vacancy/916012379"
    )
    assert doctor.provider_name == "Imperial College Healthcare NHS Trust"
    assert doctor.postcodes == ["W6 8RF"]
    assert doctor.closing_text.startswith("2021-03-31")
    assert doctor.base_salary["currency"] == "GBP"


def test_civil_service_jobs_keeps_the_results_it_could_not_open(replayed):
    run = replayed("civil_service_jobs")

    assert len({i.source_key for i in run.items}) == 50
    assert run.not_recorded
