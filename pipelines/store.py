"""Storage: listings upserted by (source, source key), in batches.

A listing whose closing date has passed at the time its page was fetched is
stored as ``closed``. Outcomes (new, updated, unchanged) are counted per key in
the crawl's stats under ``store/<outcome>``.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import logging
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals

from pipelines.base import CrawlerPipeline
from spiders.items import ListingItem
from storage.repository import ListingRow, Outcome, upsert_listings
from storage.session import (
    make_engine,
    retry_on_disconnect,
    session_factory,
    transaction,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
# what changes on every fetch without the listing changing
_VOLATILE = {"fetched_at", "raw", "parse_failures"}


class StorePipeline(CrawlerPipeline):
    """Writes listings into the crawl run named by ``HUB_RUN_ID``."""

    def __init__(
        self,
        crawler: Crawler,
        factory: sessionmaker[Session],
        source_id: int,
        run_id: int,
    ) -> None:
        super().__init__(crawler)
        self.factory = factory
        self.source_id = source_id
        self.run_id = run_id
        self.batch: list[ListingRow] = []
        self.outcomes: dict[str, Outcome] = {}
        crawler.signals.connect(self.flush, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        run_id, source_id = (
            settings.getint("HUB_RUN_ID"),
            settings.getint("HUB_SOURCE_ID"),
        )
        if not run_id or not source_id:
            raise ValueError(
                "StorePipeline needs HUB_RUN_ID and HUB_SOURCE_ID: crawl through "
                "`hub run` or `hub crawl SOURCE`, which open a crawl run"
            )
        engine = make_engine(settings.get("HUB_DATABASE_URL"))
        return cls(crawler, session_factory(engine), source_id, run_id)

    def process_item(self, item: ListingItem) -> ListingItem:
        self.batch.append(to_row(item))
        if len(self.batch) >= BATCH_SIZE:
            self.flush()
        return item

    def flush(self, *_: Any) -> None:
        if not self.batch:
            return
        rows, self.batch = self.batch, []
        # an upsert repeated after a lost connection says the same per key
        outcomes = retry_on_disconnect(lambda: self._store(rows), "storing listings")
        for key, outcome in outcomes.items():
            if key not in self.outcomes:
                self.outcomes[key] = outcome
                self.count(f"store/{outcome}")
        logger.debug("Stored %d listings", len(rows))

    def _store(self, rows: list[ListingRow]) -> dict[str, Outcome]:
        with transaction(self.factory) as session:
            return upsert_listings(session, self.source_id, self.run_id, rows)


def to_row(item: ListingItem) -> ListingRow:
    fields = to_jsonable(item.to_dict())
    raw = fields.pop("raw")
    status = "active"
    if item.closing_date is not None and item.closing_date < item.fetched_at:
        status = "closed"
    first = item.locations[0] if item.locations else None
    pay = item.pay
    columns = {
        "canonical_url": item.canonical_url,
        "apply_url": item.apply_url,
        "title": item.title,
        "provider_name": item.provider_name,
        "opportunity_type": item.opportunity_type,
        "in_scope": item.in_scope,
        "closing_date": item.closing_date,
        "postcode": first.postcode if first else None,
        "outcode": first.outcode if first else None,
        "pay_min": pay.min if pay else None,
        "pay_max": pay.max if pay else None,
        "pay_period": pay.period if pay else None,
    }
    return ListingRow(
        source_key=item.source_key,
        url=item.url,
        content_hash=content_hash(fields, status),
        fetched_at=item.fetched_at,
        status=status,
        columns=columns,
        fields=fields,
        raw=raw,
    )


def content_hash(fields: dict[str, Any], status: str) -> str:
    stable = {k: v for k, v in fields.items() if k not in _VOLATILE}
    stable["status"] = status
    encoded = json.dumps(stable, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums and datetimes as JSON values, recursively, without NUL."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str) and "\x00" in value:
        # PostgreSQL stores no NUL in text or JSON; no page means one
        return value.replace("\x00", "")
    return value
