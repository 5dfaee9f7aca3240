"""What the matcher last saw of each listing: the marker of incremental matching.

``matched_listings`` holds one row per listing matched so far: the listing's
``changed_run_id`` at that time and the fields matching reads (a
:class:`dedupe.MatchRecord` as JSON). A listing whose ``changed_run_id`` or
fields differ from its row is new or changed since the last match.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow


class MatchedListing(Base):
    __tablename__ = "matched_listings"

    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), primary_key=True)
    changed_run_id: Mapped[int] = mapped_column(Integer)
    # the matched fields: MatchRecord field -> JSON value (dates as ISO text)
    record: Mapped[dict[str, Any]] = mapped_column(default=dict)
    matched: Mapped[datetime] = mapped_column(default=utcnow)
