"""Derived tables of the consumer feed, kept in step by ``storage.feed.publish_feed``.

``opportunity_search`` holds one row of indexed columns per live or closed
opportunity, ``opportunity_places`` one row per place (for distance), and
``opportunity_tags`` the many-valued filters as ``kind:value`` strings
(``source:nhs_jobs``, ``criterion:care_experienced``, ``la:e06000002``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class OpportunitySearch(Base):
    __tablename__ = "opportunity_search"

    opportunity_id: Mapped[str] = mapped_column(
        ForeignKey("opportunities.id"), primary_key=True
    )
    # live, closed
    state: Mapped[str] = mapped_column(String(10))
    in_scope: Mapped[bool] = mapped_column(Boolean)
    opportunity_type: Mapped[str | None] = mapped_column(String(40))
    mode: Mapped[str | None] = mapped_column(String(20))
    age_min: Mapped[int | None] = mapped_column(Integer)
    age_max: Mapped[int | None] = mapped_column(Integer)
    # the closing date, or NO_CLOSING_DATE when the listing gives none
    closing_sort: Mapped[datetime]
    # the posted date, or when the hub first saw the opportunity
    newest_sort: Mapped[datetime]
    # title, provider and summary, case-folded, for substring search
    text: Mapped[str] = mapped_column(Text)
    # the opportunity's content hash when this row was written
    indexed_hash: Mapped[str | None] = mapped_column(String(64))
    # the list-page and change-feed records, encoded (storage.records), and the
    # change number they were made from: stale once it is not the opportunity's
    summary_doc: Mapped[str | None] = mapped_column(Text)
    feed_doc: Mapped[str | None] = mapped_column(Text)
    doc_change_no: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index(
            "ix_search_closing", "state", "in_scope", "closing_sort", "opportunity_id"
        ),
        Index("ix_search_newest", "state", "in_scope", "newest_sort", "opportunity_id"),
        # in or out of scope alike (in_scope=any)
        Index("ix_search_any_closing", "state", "closing_sort", "opportunity_id"),
        Index("ix_search_any_newest", "state", "newest_sort", "opportunity_id"),
        # a type's page, walked in the index alone (scope tested there too)
        Index(
            "ix_search_type_state_closing",
            "opportunity_type",
            "state",
            "closing_sort",
            "opportunity_id",
            postgresql_include=["in_scope"],
        ),
    )


class OpportunityPlace(Base):
    __tablename__ = "opportunity_places"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[str] = mapped_column(ForeignKey("opportunities.id"))
    outcode: Mapped[str | None] = mapped_column(String(5))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    local_authority: Mapped[str | None] = mapped_column(Text)
    local_authority_code: Mapped[str | None] = mapped_column(String(12))
    region: Mapped[str | None] = mapped_column(Text)

    # a search near a postcode reads both from the indexes alone: the places
    # in a box with their opportunities, and an opportunity's points
    __table_args__ = (
        Index("ix_places_lat_lon_opportunity", "lat", "lon", "opportunity_id"),
        Index("ix_places_opportunity_lat_lon", "opportunity_id", "lat", "lon"),
    )


class OpportunityTag(Base):
    __tablename__ = "opportunity_tags"

    tag: Mapped[str] = mapped_column(String(200), primary_key=True)
    opportunity_id: Mapped[str] = mapped_column(
        ForeignKey("opportunities.id"), primary_key=True
    )

    # whether an opportunity has a tag, answered from the index alone
    __table_args__ = (
        Index("ix_opportunity_tags_opportunity_tag", "opportunity_id", "tag"),
    )
