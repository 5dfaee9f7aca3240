"""The shapes of the feed's JSON answers, as the OpenAPI description gives them.

The answers are not built through these models: they are copied from the
records publishing stored (:mod:`storage.records`), so a route declares its
model as documentation only (``responses={200: {"model": ...}}``), and the tests
check real answers against the description. A record may carry fields not named
here (a golden record keeps every field matching chose); a consumer should
ignore those it does not know.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from spiders.items import Eligibility, Location, Mode, OpportunityType, Pay


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Golden(_Record):
    """The fields an opportunity's list item and its full record share."""

    id: str = Field(description="Stays put through merges: a merged id redirects.")
    state: Literal["live", "closed"]
    modified: datetime = Field(description="When it last changed, as published.")
    title: str | None = None
    provider_name: str | None = None
    provider_url: str | None = None
    opportunity_type: OpportunityType | None = None
    level: int | None = Field(None, description="Qualification level (2 to 7).")
    summary: str | None = Field(None, description="Plain text, a few sentences.")
    closing_date: datetime | None = None
    posted_date: datetime | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    pay: Pay | None = None
    locations: list[Location] | None = None
    mode: Mode | None = None
    eligibility: Eligibility | None = None
    apply_url: str | None = None
    in_scope: bool | None = Field(
        None, description="A social mobility opportunity the hub publishes."
    )
    sources: list[str] | None = Field(
        None, description="Sources listing it, the one its fields come from first."
    )
    also_listed_on: list[str] | None = None
    licences: list[str] | None = None
    attributions: list[str] | None = None


class OpportunitySummary(_Golden):
    """An item of a search's page."""

    url: str = Field(description="Its full record on this server.")
    distance_km: float | None = Field(
        None, description="From the search's centre (with `near` only)."
    )


class OpportunityPage(BaseModel):
    items: list[OpportunitySummary]
    next: str | None = Field(description="The next page, or null on the last.")
    license: str


class OpportunityRecord(_Golden):
    """Every field of the merged opportunity, with each one's source."""

    alternate_title: str | None = None
    training_provider_name: str | None = None
    description_text: str | None = None
    description_safe_html: str | None = Field(
        None, description="Sanitised HTML: a small set of tags, no scripts."
    )
    opens_date: datetime | None = Field(None, description="When applications open.")
    duration_text: str | None = None
    hours_text: str | None = None
    positions: int | None = Field(None, description="How many places.")
    cost: Pay | None = Field(None, description="What taking part costs.")
    support: list[str] | None = None
    support_evidence: dict[str, str] | None = None
    field_sources: dict[str, str] | None = Field(
        None, description="Each field's source."
    )
    change_no: int = Field(description="The change that last published it.")


class MemberListing(BaseModel):
    source: str
    source_key: str
    url: str | None
    title: str | None
    status: str
    first_seen: datetime
    last_seen: datetime
    provider_kind: str
    licence: str | None
    attribution: str | None


class OpportunityDetail(OpportunityRecord):
    listings: list[MemberListing] = Field(
        description="The listings merged into it, each with its source's terms."
    )


class FeedEvent(BaseModel):
    kind: Literal["merged", "split"]
    change_no: int
    at: datetime
    ids: list[str] = Field(description="The other opportunities involved.")


class FeedItem(BaseModel):
    state: Literal["updated", "deleted"]
    kind: Literal["Opportunity"]
    id: str
    modified: int = Field(description="Microseconds since 1970: the position.")
    merged_into: str | None = Field(
        None, description="Where a merged opportunity went (deleted items only)."
    )
    events: list[FeedEvent] | None = None
    data: OpportunityRecord | None = Field(description="Null when deleted.")


class FeedPage(BaseModel):
    next: str = Field(description="Follow it; on the last page, this page itself.")
    items: list[FeedItem]
    license: str


class CrawlReport(BaseModel):
    started: datetime
    finished: datetime | None
    status: Literal["running", "ok", "partial", "failed"]
    replay: bool = Field(description="Replayed from a recording, not fetched.")
    error: str | None
    counts: dict[str, int]
    field_coverage: dict[str, float] = Field(
        description="Each field's share (0 to 1) of the run's listings."
    )


class SourceReport(BaseModel):
    name: str
    provider_kind: str
    enabled: bool
    licence: str | None
    attribution: str | None
    last_run: CrawlReport | None


class SourcesPage(BaseModel):
    sources: list[SourceReport]


class Index(BaseModel):
    name: str
    license: str
    links: dict[str, str]
