"""Builders of small feed databases, made with the storage layer."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from storage.feed import publish_feed
from storage.models import Opportunity, OpportunityMember, Source
from storage.repository import (
    ListingRow,
    start_crawl_run,
    upsert_listings,
    upsert_source,
)
from storage.session import transaction

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

# outcode -> (lat, lon, local authority, GSS code, region)
PLACES = {
    "SW1A": (51.501, -0.141, "Westminster", "E09000033", "London"),
    "SE1": (51.498, -0.089, "Southwark", "E09000028", "London"),
    "M1": (53.479, -2.237, "Manchester", "E08000003", "North West"),
    "TS4": (54.552, -1.215, "Middlesbrough", "E06000002", "North East"),
}


def place(outcode: str) -> dict[str, Any]:
    lat, lon, authority, code, region = PLACES[outcode]
    return {
        "text": f"Somewhere, {outcode}",
        "postcode": None,
        "outcode": outcode,
        "lat": lat,
        "lon": lon,
        "local_authority": authority,
        "local_authority_code": code,
        "region": region,
        "nation": "England",
    }


def golden(title: str, **values: Any) -> dict[str, Any]:
    sources = values.pop("sources", ["brightpath"])
    record = {
        "title": title,
        "provider_name": "Brightpath Trust",
        "provider_url": "https://brightpath.example.org/",
        "opportunity_type": "apprenticeship",
        "summary": f"{title}: learn on the job.",
        "closing_date": None,
        "posted_date": None,
        "locations": [place("SW1A")],
        "mode": "in_person",
        "eligibility": {"age_min": None, "age_max": None, "criteria": []},
        "apply_url": f"https://brightpath.example.org/apply/{abs(hash(title))}",
        "in_scope": True,
        "field_sources": {"title": sources[0]},
        "sources": sources,
        "also_listed_on": sources[1:],
        "licences": ["OGL-UK-3.0"],
        "attributions": ["Brightpath Trust listings."],
    }
    record.update(values)
    return record


@dataclass
class FeedDb:
    url: str
    factory: sessionmaker[Session]
    _keys: int = 0
    _run_ids: dict[str, int] = field(default_factory=dict)

    def add(
        self, opportunity_id: str, record: dict[str, Any], status: str = "active"
    ) -> None:
        """An opportunity with one member listing per source in its record."""
        with transaction(self.factory) as session:
            opportunity = Opportunity(
                id=opportunity_id,
                created=T0,
                modified=T0,
                title=record["title"],
                opportunity_type=record.get("opportunity_type"),
                in_scope=bool(record.get("in_scope")),
                ever_in_scope=bool(record.get("in_scope")),
                golden=record,
            )
            session.add(opportunity)
            session.flush()
            for name in record["sources"]:
                listing_id = self._listing(session, name, record, status)
                session.add(
                    OpportunityMember(
                        listing_id=listing_id, opportunity_id=opportunity_id
                    )
                )

    def _listing(
        self, session: Session, name: str, record: dict[str, Any], status: str
    ) -> int:
        if name not in self._run_ids:
            source = upsert_source(
                session,
                name=name,
                spider="schema_org",
                provider_kind="charity" if name == "brightpath" else "government",
                licence="OGL-UK-3.0",
                attribution=f"{name} listings.",
            )
            self._run_ids[name] = start_crawl_run(session, source, None).id
        self._keys += 1
        key = f"k{self._keys}"
        row = ListingRow(
            source_key=key,
            url=f"https://{name}.example.org/opportunities/{key}",
            content_hash=key,
            fetched_at=T0,
            status=status,
            columns={"title": record["title"]},
            fields={"title": record["title"]},
            raw={},
        )
        source_id = session.query(Source.id).filter(Source.name == name).scalar()
        upsert_listings(session, source_id, self._run_ids[name], [row])
        from storage.models import Listing

        return session.query(Listing.id).filter(Listing.source_key == key).scalar()

    def publish(self) -> None:
        publish_feed(self.factory)


def days(n: float) -> timedelta:
    return timedelta(days=n)


AUTHORITY_COLUMNS = [
    "local-authority-code",
    "official-name",
    "nice-name",
    "gss-code",
    "nation",
    "region",
    "pop-2020",
    "lat",
    "long",
    "current-authority",
    "alt-names",
    "lower-or-unitary",
]


def write_geography(folder: Path) -> Path:
    """A gazetteer of our own with the outcodes of the feed builders' PLACES."""
    districts = [
        ["Postcode", "Latitude", "Longitude", "Town/Area", "Region", "UK region"]
    ]
    authorities = [AUTHORITY_COLUMNS]
    for outcode, (lat, lon, name, code, region) in PLACES.items():
        districts.append([outcode, lat, lon, outcode, name, region])
        authorities.append(
            [code, name, name, code, "England", region, "1000", lat, lon, "True"]
            + [name, "True"]
        )
    for name, rows in (
        ("postcode_districts.csv", districts),
        ("local_authorities.csv", authorities),
    ):
        with (folder / name).open("w", newline="", encoding="utf-8") as stream:
            csv.writer(stream).writerows(rows)
    return folder
