"""SQLAlchemy 2 typed models: sources, crawl runs, listings, opportunities,
their members, match pairs, reviewer decisions and the change feed.

Every timestamp is stored in UTC. SQLite hands datetimes back naive, so
:class:`UTCDateTime` attaches the zone on the way out on both databases alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    spider: Mapped[str] = mapped_column(String(100))
    provider_kind: Mapped[str] = mapped_column(String(20))
    trust_rank: Mapped[int] = mapped_column(Integer, default=50)
    licence: Mapped[str | None] = mapped_column(Text)
    attribution: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CrawlRun(Base):
    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    started: Mapped[datetime] = mapped_column(default=utcnow)
    finished: Mapped[datetime | None]
    # running, ok, partial, failed
    status: Mapped[str] = mapped_column(String(20), default="running")
    replay: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)

    source: Mapped[Source] = relationship()


class Listing(Base):
    __tablename__ = "listings"
    __table_args__ = (UniqueConstraint("source_id", "source_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    source_key: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str | None] = mapped_column(Text)
    apply_url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    provider_name: Mapped[str | None] = mapped_column(Text)
    opportunity_type: Mapped[str | None] = mapped_column(String(40))
    in_scope: Mapped[bool] = mapped_column(Boolean, default=False)
    closing_date: Mapped[datetime | None]
    postcode: Mapped[str | None] = mapped_column(String(10))
    outcode: Mapped[str | None] = mapped_column(String(5), index=True)
    pay_min: Mapped[float | None] = mapped_column(Float)
    pay_max: Mapped[float | None] = mapped_column(Float)
    pay_period: Mapped[str | None] = mapped_column(String(10))
    # every normalised field, as the item vocabulary names them
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    last_changed: Mapped[datetime]
    first_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id"))
    seen_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id"))
    changed_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id"))
    # active, closed, gone
    status: Mapped[str] = mapped_column(String(10), default="active")

    source: Mapped[Source] = relationship()
    member: Mapped[OpportunityMember | None] = relationship(back_populates="listing")


class Opportunity(Base):
    __tablename__ = "opportunities"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # live, closed, deleted, merged
    state: Mapped[str] = mapped_column(String(10), default="live")
    merged_into: Mapped[str | None] = mapped_column(ForeignKey("opportunities.id"))
    created: Mapped[datetime] = mapped_column(default=utcnow)
    modified: Mapped[datetime] = mapped_column(default=utcnow)
    change_no: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str | None] = mapped_column(Text)
    opportunity_type: Mapped[str | None] = mapped_column(String(40))
    in_scope: Mapped[bool] = mapped_column(Boolean, default=False)
    # once in scope, the published change feed owes its readers a tombstone
    # when it leaves; one never in scope is left out of that feed altogether
    ever_in_scope: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    closing_date: Mapped[datetime | None]
    # golden fields, the source of each, "also listed on", licences
    golden: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_hash: Mapped[str | None] = mapped_column(String(64))

    members: Mapped[list[OpportunityMember]] = relationship(
        back_populates="opportunity"
    )

    __table_args__ = (Index("ix_opportunities_modified_id", "modified", "id"),)


class OpportunityMember(Base):
    """A listing's place in exactly one opportunity."""

    __tablename__ = "opportunity_members"

    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), primary_key=True)
    opportunity_id: Mapped[str] = mapped_column(
        ForeignKey("opportunities.id"), index=True
    )
    added: Mapped[datetime] = mapped_column(default=utcnow)

    listing: Mapped[Listing] = relationship(back_populates="member")
    opportunity: Mapped[Opportunity] = relationship(back_populates="members")


class MatchPair(Base):
    __tablename__ = "match_pairs"
    __table_args__ = (UniqueConstraint("listing_a", "listing_b"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_a: Mapped[int] = mapped_column(ForeignKey("listings.id"))
    listing_b: Mapped[int] = mapped_column(ForeignKey("listings.id"))
    # 0-100, as rapidfuzz scores run
    score: Mapped[float] = mapped_column(Float)
    # auto, review, distinct
    band: Mapped[str] = mapped_column(String(10))
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)
    explanation: Mapped[str | None] = mapped_column(Text)
    updated: Mapped[datetime] = mapped_column(default=utcnow)


class Decision(Base):
    """A reviewer's must-link or cannot-link; undo is a new decision."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_a: Mapped[int] = mapped_column(ForeignKey("listings.id"))
    listing_b: Mapped[int] = mapped_column(ForeignKey("listings.id"))
    # must_link, cannot_link, unsure, undo
    kind: Mapped[str] = mapped_column(String(20))
    reviewer: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class FeedChange(Base):
    __tablename__ = "feed_changes"

    change_no: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    opportunity_id: Mapped[str] = mapped_column(String(40), index=True)
    # updated, deleted, merged, split
    kind: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    related: Mapped[dict[str, Any]] = mapped_column(default=dict)

    # the few merge and split changes, found by id for each change-feed page
    __table_args__ = (
        Index(
            "ix_feed_changes_id_events",
            "opportunity_id",
            "change_no",
            postgresql_where=text("kind IN ('merged', 'split')"),
            sqlite_where=text("kind IN ('merged', 'split')"),
        ),
    )
