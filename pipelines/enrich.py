"""Enrichment: places, mode, opportunity type and eligibility."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Self

from pipelines.base import CrawlerPipeline
from pipelines.classify import classify
from pipelines.eligibility import extract_eligibility
from pipelines.geo import Gazetteer
from pipelines.postcodes import PostcodeMatch, find_postcodes, normalise_postcode
from pipelines.support import extract_support
from spiders.items import ListingItem, Location, Mode

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

_REMOTE = re.compile(r"\b(remote|home[- ]?based|work from home|online|virtual)\b", re.I)
_HYBRID = re.compile(r"\bhybrid\b", re.I)
# the whole country given as a place: a part of the text on its own ("National",
# "UK wide"), not a name that begins so ("National Trust, Cliveden"); "various
# locations" is not it (an NHS trust's sites, a region's towns)
_NATIONAL = re.compile(
    r"(?:^|[,;:/|(])\s*(?:national(?:ly)?|nationwide|uk[- ]?wide|across the uk"
    r"|anywhere in the uk)\s*(?=$|[,;:/|)])",
    re.I,
)


def load_gazetteer(geo_dir: str | None) -> Gazetteer | None:
    """The operator's geography, from a folder holding the two CSV files."""
    if not geo_dir:
        return None
    folder = Path(geo_dir)
    return Gazetteer.from_files(
        folder / "postcode_districts.csv", folder / "local_authorities.csv"
    )


class EnrichmentPipeline(CrawlerPipeline):
    def __init__(self, crawler: Crawler, gazetteer: Gazetteer | None) -> None:
        super().__init__(crawler)
        self.gazetteer = gazetteer

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        gazetteer = load_gazetteer(crawler.settings.get("HUB_GEO_DIR"))
        if gazetteer is None:
            logger.info("No geography configured (HUB_GEO_DIR): places stay unresolved")
        return cls(crawler, gazetteer)

    def process_item(self, item: ListingItem) -> ListingItem:
        item.locations = self._locations(item)
        item.mode = _mode(item)
        result = classify(
            item.title, item.description_text, item.employment_type, item.categories
        )
        item.opportunity_type, item.level, item.in_scope = (
            result.type,
            result.level,
            result.in_scope,
        )
        text = "\n".join(t for t in (item.title, item.description_text) if t)
        item.eligibility = extract_eligibility(text)
        support = extract_support(text)
        item.support, item.support_evidence = support.offered, support.evidence
        return item

    def _locations(self, item: ListingItem) -> list[Location]:
        matches = [m for m in map(normalise_postcode, item.postcodes) if m]
        for text in item.location_texts:
            matches.extend(find_postcodes(text, address=True))
        locations = _unique(self._place(m) for m in matches)
        if not locations:
            locations = [Location(text=t) for t in item.location_texts]
        for location, (lat, lon) in zip(locations, item.coordinates, strict=False):
            location.lat, location.lon = lat, lon
        if item.location_texts and locations:
            locations[0].text = locations[0].text or item.location_texts[0]
        return locations

    def _place(self, match: PostcodeMatch) -> Location:
        location = Location(postcode=match.postcode, outcode=match.outcode)
        place = self.gazetteer.place(match.outcode) if self.gazetteer else None
        if place is None:
            if self.gazetteer is not None:
                self.count("unplaced/outcode")
            return location
        location.lat, location.lon = place.lat, place.lon
        location.local_authority = place.local_authority
        location.local_authority_code = place.local_authority_code
        location.region, location.nation = place.region, place.nation
        return location


def _unique(locations: Iterable[Location]) -> list[Location]:
    seen: dict[tuple[str | None, str | None], Location] = {}
    for location in locations:
        seen.setdefault((location.postcode, location.outcode), location)
    return list(seen.values())


def _mode(item: ListingItem) -> Mode:
    hints = ", ".join(filter(None, [item.workplace_type, *item.location_texts]))
    if _HYBRID.search(hints):
        return Mode.HYBRID
    if _REMOTE.search(hints):
        return Mode.REMOTE
    if _NATIONAL.search(hints):
        return Mode.NATIONAL
    return Mode.IN_PERSON
