"""Politeness and safety on the live crawl path: downloader middlewares.

``AddressGuardMiddleware`` (first in the chain) follows only http and https URLs
and, on a live crawl, refuses any request (start URL, link, redirect target or
robots.txt) whose host is, spells or resolves to a private, loopback,
link-local, reserved or cloud-metadata address, before anything connects. Hosts
listed in ``HUB_ALLOWED_PRIVATE_HOSTS`` (``host`` or ``host:port``, matched as
written) are let through; the tests list their own 127.0.0.1 servers there.

``RobotsStatusMiddleware`` obeys robots.txt as RFC 9309 says for each status: a
4xx allows all, a 5xx blocks the host for this crawl (``robotstxt/unavailable``),
an HTML page where robots.txt should be gives no rules (``robotstxt/not_text``).

``BackoffRetryMiddleware`` retries with exponential backoff and honours
``Retry-After`` on 429 and 503: nothing more is sent to that host until the
delay has passed. A delay longer than ``HUB_RETRY_AFTER_MAX`` is not waited
out: the host's remaining requests are left for the source's next run
(``retry_after/deferred``).

``SameUrlRedirectMiddleware`` follows a redirect back to the same URL (a
cookie-consent or session gate, directly or through a login page) instead of
letting the dupe filter drop it, and lets
the dupe filter see every other redirect target, so that a retried request
that then redirects cannot fetch a page twice.

``SizeLimitMiddleware`` counts responses cut off at ``DOWNLOAD_MAXSIZE`` under
``dropped/response_too_large``.

Scrapy internals used (checked against Scrapy 2.19): the downloader's slots
(``Slot.latercall``, ``Slot.queue``, ``Downloader._latercall``) to hold a host,
and ``RobotsTxtMiddleware._parse_robots`` / ``process_request_2``.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from time import monotonic
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import unquote, urlsplit
from weakref import WeakKeyDictionary

from scrapy import Request, signals
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    IgnoreRequest,
)
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.task import deferLater
from twisted.python.failure import Failure
from w3lib.url import canonicalize_url

from spiders.drops import count_spider_drop

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

FOLLOWED_SCHEMES = frozenset({"http", "https"})
METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_HEX, _OCTAL, _DECIMAL = (
    re.compile(r"[0-9a-f]*"),
    re.compile(r"[0-7]+"),
    re.compile(r"[0-9]+"),
)


def http_link(response: Response, href: str | None, stats: Any = None) -> str | None:
    """The absolute URL of a link a spider may follow: http or https only.

    ``mailto:``, ``javascript:``, ``tel:`` and the like cannot even become a
    request (Scrapy raises ValueError), so spiders check their links here; a
    refused link is counted under ``ignored/non_http_url`` when ``stats`` is
    given. The address guard refuses any other scheme that reaches it.
    """
    if not href or not href.strip():
        return None
    try:
        url = response.urljoin(href.strip())
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        # a malformed link ("http://[::1") is a link not taken, not a crash
        if stats is not None:
            stats.inc_value("ignored/bad_url")
        return None
    if scheme in FOLLOWED_SCHEMES:
        return url
    if stats is not None:
        stats.inc_value("ignored/non_http_url")
    return None


class Refused(IgnoreRequest):
    """A request not sent on purpose; never a fetch error."""


class NonHttpUrl(Refused):
    """A link that is not http or https (mailto:, javascript:, file:, ...)."""


class PrivateAddress(Refused):
    """A request to a private, loopback, link-local or metadata address."""


class RobotsUnavailable(Refused):
    """robots.txt answered 5xx: the host counts as disallowed for this crawl."""


class HostDeferred(Refused):
    """The host asked us to wait longer than we wait in one crawl."""


REFUSALS: tuple[type[IgnoreRequest], ...] = (
    NonHttpUrl,
    PrivateAddress,
    RobotsUnavailable,
    HostDeferred,
)


# addresses


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a URL host spells, in any spelling a resolver accepts
    (``0x7f000001``, ``2130706433``, ``0177.0.0.1``, ``127.1``, ``[::1]``), or
    None for a name."""
    host = unquote(host).strip("[]").lower().rstrip(".")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return _legacy_ipv4(host)


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_number(part) for part in parts]
    if any(n is None for n in numbers):
        return None
    *leading, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in leading) or last >= 256 ** (4 - len(leading)):
        return None
    value = last + sum(n << (8 * (3 - i)) for i, n in enumerate(leading))
    return ipaddress.IPv4Address(value)


def _ipv4_number(part: str) -> int | None:
    if part.startswith("0x"):
        digits, base, pattern = part[2:], 16, _HEX
    elif len(part) > 1 and part.startswith("0"):
        digits, base, pattern = part[1:], 8, _OCTAL
    else:
        digits, base, pattern = part, 10, _DECIMAL
    if not pattern.fullmatch(digits):
        return None
    return int(digits, base) if digits else 0


def address_refusal(address: IPAddress) -> str | None:
    """Why a crawler must not connect to ``address``, or None when it is public."""
    address = _embedded_ipv4(address) or address
    if address in METADATA_ADDRESSES:
        return "metadata"
    for reason in ("loopback", "link_local", "unspecified", "multicast", "private"):
        if getattr(address, f"is_{reason}"):
            return reason
    if address.is_reserved or not address.is_global:
        return "reserved"
    return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, 6to4, Teredo, NAT64 or
    IPv4-compatible IPv6 address."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped or address.sixtofour:
        return address.ipv4_mapped or address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def host_refusal(host: str) -> str | None:
    """Why ``host`` is refused without resolving it (metadata names, address
    literals); None means: resolve it and judge the address."""
    if host in METADATA_HOSTS:
        return "metadata"
    literal = parse_ip_literal(host)
    return address_refusal(literal) if literal is not None else None


def _allowed_entry(entry: str) -> tuple[str, int | None]:
    parts = urlsplit(f"//{entry.strip().lower()}")
    return (parts.hostname or "").rstrip("."), parts.port


class AddressGuardMiddleware:
    """Follows http(s) only; on a live crawl refuses non-public addresses."""

    def __init__(self, crawler: Crawler, live: bool, allowed: set[tuple]) -> None:
        self.crawler = crawler
        self.live = live
        self.allowed = allowed
        self._warned: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        entries = crawler.settings.getlist("HUB_ALLOWED_PRIVATE_HOSTS")
        live = not crawler.settings.get("HUB_REPLAY")
        return cls(crawler, live, {_allowed_entry(e) for e in entries if e})

    async def process_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme.lower() not in FOLLOWED_SCHEMES:
            self.crawler.stats.inc_value("ignored/non_http_url")
            raise NonHttpUrl(f"not an http(s) URL: {request.url[:200]}")
        if not self.live:
            return
        host = (parts.hostname or "").rstrip(".")
        if {(host, None), (host, parts.port)} & self.allowed:
            return
        reason = host_refusal(host) or await self._resolved_refusal(host)
        if reason:
            self._refuse(request, host, reason)

    async def _resolved_refusal(self, host: str) -> str | None:
        # the reactor's resolver caches the answer (DNSCACHE_ENABLED), so the
        # connection goes to the address judged here
        from twisted.internet import reactor

        try:
            address = await maybe_deferred_to_future(reactor.resolve(host))
        except Exception as exc:
            raise CannotResolveHostError(f"{host}: {exc}") from exc
        return address_refusal(ipaddress.ip_address(address))

    def _refuse(self, request: Request, host: str, reason: str) -> None:
        stats = self.crawler.stats
        stats.inc_value("guard/refused")
        stats.inc_value(f"guard/refused/{reason}")
        if host not in self._warned:
            self._warned.add(host)
            logger.warning("Refused %s: %s address (%s)", request.url, reason, host)
        raise PrivateAddress(f"{reason} address: {request.url[:200]}")


# robots.txt


class _Disallowed:
    """The rules of a host whose robots.txt could not be had: nothing allowed."""

    def allowed(self, url: str | bytes, user_agent: str | bytes | None) -> bool:
        return False


DISALLOWED = _Disallowed()


def robots_verdict(response: Response) -> str:
    """``rules``, ``missing`` (4xx: no restrictions), ``not_text`` (an HTML page
    answered) or ``unavailable`` (5xx)."""
    if response.status >= 500:
        return "unavailable"
    if response.status >= 300:
        return "missing"
    content_type = response.headers.get(b"Content-Type", b"").lower()
    start = response.body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if b"html" in content_type or start == b"<":
        return "not_text"
    return "rules"


class RobotsStatusMiddleware(RobotsTxtMiddleware):
    """robots.txt obeyed, with its status judged and counted."""

    async def _parse_robots(
        self, response: Response, netloc: str, request: Request
    ) -> None:
        verdict = robots_verdict(response)
        self._stats.inc_value(f"robotstxt/{verdict}")
        if verdict == "rules":
            await super()._parse_robots(response, netloc, request)
        elif verdict != "unavailable":
            if verdict == "not_text":
                logger.warning("robots.txt of %s is not text: no rules", netloc)
            await super()._parse_robots(response.replace(body=b""), netloc, request)
        else:
            self._block(response, netloc)

    def _block(self, response: Response, netloc: str) -> None:
        logger.warning(
            "robots.txt of %s answered %d: nothing fetched there in this crawl",
            netloc,
            response.status,
        )
        self._stats.inc_value("robotstxt/response_count")
        self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
        waiting = self._parsers[netloc]
        self._parsers[netloc] = DISALLOWED  # type: ignore[assignment]
        waiting.callback(DISALLOWED)  # type: ignore[union-attr]

    def process_request_2(self, rp: Any, request: Request) -> None:
        if rp is DISALLOWED:
            self._stats.inc_value("robotstxt/blocked_unavailable")
            raise RobotsUnavailable(f"robots.txt unavailable: {request.url}")
        super().process_request_2(rp, request)


# retries, Retry-After and backoff


def parse_retry_after(value: bytes | str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries, spaced by backoff, honouring Retry-After per host."""

    RETRY_AFTER_CODES = frozenset({429, 503})

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.live = not settings.get("HUB_REPLAY")
        self.backoff_base = settings.getfloat("HUB_RETRY_BACKOFF_BASE", 1.0)
        self.backoff_max = settings.getfloat("HUB_RETRY_BACKOFF_MAX", 60.0)
        self.retry_after_max = settings.getfloat("HUB_RETRY_AFTER_MAX", 120.0)
        self.held_until: dict[str, float] = {}
        self.deferred: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = super().from_crawler(crawler)
        if middleware.live and crawler.settings.getfloat("DOWNLOAD_DELAY") <= 0:
            raise ValueError(
                "a live crawl needs DOWNLOAD_DELAY above 0: at 0, Scrapy 2.19 does "
                "not hold CONCURRENT_REQUESTS_PER_DOMAIN; set e.g. 0.25"
            )
        if middleware.live:
            # sent before the slot picks its next request, unlike process_response
            crawler.signals.connect(
                middleware._response_downloaded, signal=signals.response_downloaded
            )
        return middleware

    async def process_request(self, request: Request) -> None:
        host = _slot_key(request)
        if host in self.deferred:
            self.crawler.stats.inc_value("retry_after/deferred")
            raise HostDeferred(f"{host} asked for {self.deferred[host]:.0f} s")
        wait = self.held_until.get(host, 0.0) - monotonic()
        if wait > 0:
            from twisted.internet import reactor

            await maybe_deferred_to_future(deferLater(reactor, wait))

    def process_response(self, request: Request, response: Response) -> Any:
        if _slot_key(request) in self.deferred:
            self.crawler.stats.inc_value("retry_after/rescheduled")
            return response
        return super().process_response(request, response)

    def process_exception(self, request: Request, exception: Exception) -> Any:
        retry = super().process_exception(request, exception)
        if retry is not None and self.live:
            self._hold(_slot_key(request), self._backoff(request))
        return retry

    def _response_downloaded(
        self, response: Response, request: Request, spider: Any = None
    ) -> None:
        if response.status not in self.retry_http_codes:
            return
        delay = None
        if response.status in self.RETRY_AFTER_CODES:
            delay = parse_retry_after(
                response.headers.get(b"Retry-After"), datetime.now(UTC)
            )
        host = _slot_key(request)
        if delay is None:
            self._hold(host, self._backoff(request))
        elif delay > self.retry_after_max:
            self._defer(host, delay)
        else:
            self.crawler.stats.inc_value("retry_after/honoured")
            self.crawler.stats.max_value("retry_after/max_seconds", delay)
            self._hold(host, delay)

    def _backoff(self, request: Request) -> float:
        tries = request.meta.get("retry_times", 0)
        return min(self.backoff_base * 2**tries, self.backoff_max)

    def _hold(self, host: str, seconds: float) -> None:
        until = monotonic() + seconds
        if seconds <= 0 or until <= self.held_until.get(host, 0.0):
            return
        self.held_until[host] = until
        downloader = self.crawler.engine.downloader
        slot = downloader.slots.get(host)
        if slot is None:
            return
        if slot.latercall:
            slot.latercall.cancel()
        slot.latercall = call_later(seconds, downloader._latercall, slot)

    def _defer(self, host: str, delay: float) -> None:
        logger.warning(
            "%s asked for %.0f s (Retry-After), more than HUB_RETRY_AFTER_MAX "
            "(%.0f s): its remaining requests are left for the next run",
            host,
            delay,
            self.retry_after_max,
        )
        self.deferred[host] = delay
        self._hold(host, delay)
        slot = self.crawler.engine.downloader.slots.get(host)
        queued = list(slot.queue) if slot else []
        if slot:
            slot.queue.clear()
        for _, waiting in queued:
            self.crawler.stats.inc_value("retry_after/deferred")
            waiting.errback(Failure(HostDeferred(f"{host} asked for {delay:.0f} s")))


def _slot_key(request: Request) -> str:
    return request.meta.get("download_slot") or urlsplit(request.url).hostname or ""


# redirects


class SameUrlRedirectMiddleware(RedirectMiddleware):
    """A redirect back to a URL of its own chain is followed (at most twice);
    every other redirect target goes through the dupe filter."""

    MAX_SELF_REDIRECTS = 2

    def process_response(self, request: Request, response: Response) -> Any:
        result = super().process_response(request, response)
        if isinstance(result, Request) and result is not request:
            self._mark(request, result)
        return result

    def _mark(self, request: Request, redirected: Request) -> None:
        # back to a URL of this very chain (A -> A, or A -> login -> A)
        chain = [*request.meta.get("redirect_urls", []), request.url]
        same = canonicalize_url(redirected.url) in {canonicalize_url(u) for u in chain}
        times = request.meta.get("self_redirects", 0)
        if same and times < self.MAX_SELF_REDIRECTS:
            redirected.meta["self_redirects"] = times + 1
            redirected.dont_filter = True
            self.crawler.stats.inc_value("redirect/to_same_url")
            return
        if same:
            logger.warning("%s keeps redirecting to itself", request.url)
        redirected.dont_filter = False


# size


class SizeLimitMiddleware:
    """Counts responses dropped for being larger than DOWNLOAD_MAXSIZE.

    Scrapy cancels such a download with a message when the size is declared,
    and with none when the body simply runs on: the bytes received tell.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.maxsize = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        self._received: WeakKeyDictionary[Request, int] = WeakKeyDictionary()
        crawler.signals.connect(self.bytes_received, signal=signals.bytes_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def bytes_received(self, data: bytes, request: Request, **_: Any) -> None:
        self._received[request] = self._received.get(request, 0) + len(data)

    def process_exception(self, request: Request, exception: Exception) -> None:
        if not isinstance(exception, DownloadCancelledError):
            return
        limit = request.meta.get("download_maxsize", self.maxsize)
        received = self._received.pop(request, 0)
        if "max size" in str(exception) or (limit and received > limit):
            count_spider_drop(self.crawler.stats, "response_too_large")
