"""Syndication feeds: RSS 2.0 and Atom entries, and iCalendar events.

Charities post opportunities in their news feed and open days or taster
sessions in a calendar feed. ``rss_feed`` reads RSS 2.0 and Atom (Scrapy's
XML selector, namespaces removed, so ``content:encoded`` is ``encoded`` and the
RSS event module's ``ev:startdate`` is ``startdate``); ``ical_feed`` reads
VEVENTs through :mod:`spiders.ical`.

Both take ``feed_urls`` (a list, or comma-separated) and ``provider`` (else the
feed's own title), and ``keep_pattern``: a regular expression an entry's title
or categories must match to become a listing, for feeds that mix news with
opportunities. A cancelled calendar event is skipped and counted.

Policy: an event is closed once it starts, so a calendar event's start is also
its ``closing_text``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from parsel import Selector
from scrapy.http import Response

from spiders.args import url_list
from spiders.base import BaseSpider
from spiders.ical import CalendarEvent, moment_text, parse_calendar
from spiders.items import ListingItem


class FeedSpider(BaseSpider):
    """What both feed spiders share: the feed URLs, the provider, the filter."""

    def __init__(
        self,
        *args: Any,
        feed_urls: list[str] | str | None = None,
        provider: str | None = None,
        keep_pattern: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.feed_urls = url_list(feed_urls)
        self.provider = provider
        self.keep_pattern = re.compile(keep_pattern, re.I) if keep_pattern else None

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if not self.feed_urls:
            raise ValueError(f"{self.name} needs feed_urls (-a feed_urls=URL,...)")
        for url in self.feed_urls:
            yield scrapy.Request(url, callback=self.parse)

    def kept(self, title: str | None, categories: list[str]) -> bool:
        if self.keep_pattern is None:
            return True
        words = " ".join([title or "", *categories])
        if self.keep_pattern.search(words):
            return True
        self.crawler.stats.inc_value("feed/entries_not_kept")
        return False


class RssFeedSpider(FeedSpider):
    name = "rss_feed"

    def parse(self, response: Response) -> Iterator[ListingItem]:
        """An RSS 2.0 channel or an Atom feed."""
        selector = Selector(text=response.text, type="xml")
        selector.remove_namespaces()
        if selector.xpath("/feed"):
            entries, parse_entry = selector.xpath("/feed/entry"), self._parse_atom
            feed_title = _first(selector, "/feed/title")
        else:
            entries, parse_entry = selector.xpath("//item"), self._parse_rss
            feed_title = _first(selector, "//channel/title")
        if not entries:
            self.crawler.stats.inc_value("feed/empty")
        for entry in entries:
            item = parse_entry(response, entry, self.provider or feed_title)
            if self.kept(item.title, item.categories):
                yield item

    def _parse_rss(
        self, response: Response, entry: Selector, provider: str | None
    ) -> ListingItem:
        link = _first(entry, "link")
        guid = _first(entry, "guid")
        title = _first(entry, "title")
        posted = _first(entry, "pubDate") or _first(entry, "date")
        return self.listing(
            response,
            source_key=guid or link or _digest(response.url, title, posted),
            url=response.urljoin(link) if link else _permalink(entry, response),
            title=title,
            provider_name=_first(entry, "organizer") or provider,
            location_texts=_present([_first(entry, "location")]),
            coordinates=_georss(entry),
            posted_text=posted,
            start_text=_first(entry, "startdate"),
            end_text=_first(entry, "enddate"),
            description_html=_first(entry, "encoded") or _first(entry, "description"),
            categories=_present(entry.xpath("category/text()").getall()),
            raw={"entry": entry.get()},
        )

    def _parse_atom(
        self, response: Response, entry: Selector, provider: str | None
    ) -> ListingItem:
        link = _atom_link(entry)
        title = _first(entry, "title")
        posted = _first(entry, "published") or _first(entry, "updated")
        return self.listing(
            response,
            source_key=_first(entry, "id") or link or _digest(response.url, title),
            url=response.urljoin(link) if link else response.url,
            title=title,
            provider_name=provider,
            coordinates=_georss(entry),
            posted_text=posted,
            description_html=_atom_content(entry),
            categories=_present(entry.xpath("category/@term").getall()),
            raw={"entry": entry.get()},
        )


class IcalFeedSpider(FeedSpider):
    name = "ical_feed"

    def parse(self, response: Response) -> Iterator[ListingItem]:
        """An iCalendar feed: one listing per VEVENT."""
        calendar = parse_calendar(response.text)
        provider = self.provider or calendar.name
        stats = self.crawler.stats
        for event in calendar.events:
            if (event.status or "").upper() == "CANCELLED":
                stats.inc_value("feed/cancelled_events")
                continue
            if event.problems:
                stats.inc_value("feed/event_problems", len(event.problems))
                self.logger.warning(
                    "Event %s: %s", event.uid, "; ".join(event.problems)
                )
            if self.kept(event.summary, event.categories):
                yield self._parse_event(response, event, provider)

    def _parse_event(
        self, response: Response, event: CalendarEvent, provider: str | None
    ) -> ListingItem:
        start = moment_text(event.start)
        return self.listing(
            response,
            source_key=_event_key(event, response.url),
            url=response.urljoin(event.url) if event.url else response.url,
            title=event.summary,
            provider_name=provider or event.organizer,
            location_texts=_present([event.location]),
            start_text=start,
            end_text=moment_text(event.end),
            closing_text=start,
            description_html=event.description,
            apply_url=event.url,
            categories=event.categories,
            raw={"properties": event.properties, "problems": event.problems},
        )


def _event_key(event: CalendarEvent, feed_url: str) -> str:
    """UID, with RECURRENCE-ID for a changed occurrence of a series."""
    if event.uid:
        return (
            f"{event.uid}@{event.recurrence_id}" if event.recurrence_id else event.uid
        )
    return _digest(feed_url, event.summary, moment_text(event.start))


def _first(selector: Selector, path: str) -> str | None:
    value = selector.xpath(f"{path}/text()").get()
    return value.strip() or None if value else None


def _present(values: list[str | None]) -> list[str]:
    return [v.strip() for v in values if v and v.strip()]


def _permalink(entry: Selector, response: Response) -> str:
    guid = entry.xpath("guid")
    permalink = guid.attrib.get("isPermaLink", "true").lower() == "true"
    text = _first(entry, "guid")
    if guid and permalink and text and text.startswith(("http://", "https://")):
        return text
    return response.url


def _atom_link(entry: Selector) -> str | None:
    for link in entry.xpath("link"):
        if link.attrib.get("rel", "alternate") == "alternate" and link.attrib.get(
            "href"
        ):
            return link.attrib["href"].strip()
    return None


def _atom_content(entry: Selector) -> str | None:
    for name in ("content", "summary"):
        node = entry.xpath(name)
        if not node:
            continue
        if node.attrib.get("type") == "xhtml":
            inner = "".join(node.xpath("./*").getall())
            return inner.strip() or None
        return _first(entry, name)
    return None


def _georss(entry: Selector) -> list[tuple[float, float]]:
    point = _first(entry, "point")
    try:
        lat, lon = (float(x) for x in (point or "").split())
    except ValueError:
        return []
    return [(lat, lon)] if -90 <= lat <= 90 and -180 <= lon <= 180 else []


def _digest(*parts: str | None) -> str:
    joined = "\x1f".join(p or "" for p in parts)
    return hashlib.sha1(joined.encode(), usedforsecurity=False).hexdigest()
