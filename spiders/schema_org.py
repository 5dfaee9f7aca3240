"""A generic spider for sites that publish schema.org JobPosting JSON-LD.

It finds pages through the site's sitemaps (``Sitemap:`` lines in robots.txt,
sitemap indexes, gzip) and yields one listing per JobPosting on each page. NHS
Jobs is the first source on it (checked 2020-11: one JobPosting a page).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response
from scrapy.spiders import SitemapSpider

from spiders.base import BaseSpider
from spiders.items import ListingItem
from spiders.jsonld import extract_entities, types_of

LISTING_TYPES = {"JobPosting"}


class SchemaOrgSpider(BaseSpider, SitemapSpider):
    name = "schema_org"

    def __init__(
        self,
        *args: Any,
        sitemap_urls: list[str] | str | None = None,
        sitemap_follow: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if sitemap_follow:
            self.sitemap_follow = sitemap_follow
        super().__init__(*args, **kwargs)
        if isinstance(sitemap_urls, str):
            sitemap_urls = sitemap_urls.split(",")
        if not sitemap_urls:
            raise ValueError(
                "schema_org needs sitemap_urls (a robots.txt or sitemap URL)"
            )
        self.sitemap_urls = sitemap_urls

    def parse(self, response: Response) -> Iterator[ListingItem]:
        """A page that may hold JobPosting records."""
        extraction = extract_entities(response.text)
        stats = self.crawler.stats
        if extraction.broken_blocks:
            stats.inc_value("jsonld/broken_blocks", extraction.broken_blocks)
        postings = [e for e in extraction.entities if types_of(e) & LISTING_TYPES]
        if not postings:
            stats.inc_value("jsonld/pages_without_listing")
        for index, posting in enumerate(postings):
            yield self._parse_posting(response, posting, index)

    def _parse_posting(
        self, response: Response, posting: dict[str, Any], index: int
    ) -> ListingItem:
        places = _as_list(posting.get("jobLocation"))
        key = _identifier(posting) or response.url + (f"#{index}" if index else "")
        return self.listing(
            response,
            source_key=key,
            url=_text(posting.get("url")) or response.url,
            title=_text(posting.get("title")),
            provider_name=_text(_get(posting, "hiringOrganization", "name")),
            provider_url=_text(_get(posting, "hiringOrganization", "sameAs"))
            or _text(_get(posting, "hiringOrganization", "url")),
            location_texts=[t for t in map(_address_text, places) if t],
            postcodes=[p for p in (_postcode(place) for place in places) if p],
            coordinates=[c for c in map(_coordinates, places) if c],
            base_salary=_dict(posting.get("baseSalary")),
            pay_text=_text(_get(posting, "baseSalary", "value", "value")),
            closing_text=_text(posting.get("validThrough")),
            posted_text=_text(posting.get("datePosted")),
            description_html=_text(posting.get("description")),
            employment_type=_joined(posting.get("employmentType")),
            workplace_type=_text(posting.get("jobLocationType")),
            apply_url=_text(posting.get("url")),
            categories=[c for c in [_text(posting.get("occupationalCategory"))] if c],
            raw=posting,
        )


def _identifier(posting: dict[str, Any]) -> str | None:
    identifier = posting.get("identifier")
    if isinstance(identifier, dict):
        identifier = identifier.get("value")
    return _text(identifier)


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _text(value: Any) -> str | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    return None


def _joined(value: Any) -> str | None:
    parts = [t for t in map(_text, _as_list(value)) if t]
    return ", ".join(parts) or None


def _address_text(place: Any) -> str | None:
    address = _get(place, "address")
    if isinstance(address, str):
        return address.strip() or None
    parts = [
        _text(_get(address, name))
        for name in (
            "streetAddress",
            "addressLocality",
            "addressRegion",
            "postalCode",
        )
    ]
    return ", ".join(p for p in parts if p) or None


def _postcode(place: Any) -> str | None:
    return _text(_get(place, "address", "postalCode"))


def _coordinates(place: Any) -> tuple[float, float] | None:
    geo = _get(place, "geo")
    try:
        lat = float(_get(geo, "latitude"))
        lon = float(_get(geo, "longitude"))
    except (TypeError, ValueError):
        return None
    if -90 <= lat <= 90 and -180 <= lon <= 180:
        return (lat, lon)
    return None
