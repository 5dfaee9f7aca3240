"""Source outages on 127.0.0.1, crawled through the real refresh flow.

Each case is one source: a schema.org site of its own (a sitemap of JobPosting
pages) whose behaviour is switched run by run. The sources are crawled
together by :func:`flows.refresh.refresh` (every stage: register, crawl in a
``hub.crawl`` child, judge, expire, match, publish) into a SQLite file: a few
good runs to build the history, then ``size`` outage runs, then a good run
again. :func:`judge_trial` lists every broken promise: a listing marked gone
or closed, a case the health ledger or the run report names wrongly, a
listing missing after the source came back.

The unresolvable source is reached by a host name that only
:class:`TableResolver` knows (Scrapy's ``TWISTED_DNS_RESOLVER``), so no DNS
query leaves the machine; in its outage runs the name is taken out of the
table. :func:`outage_figures` is the full-size entry point for the
reliability benchmark.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer

REPO = Path(__file__).resolve().parents[2]
UNRESOLVABLE = "jobs.northfield.test"
HOSTS_SETTING = "OUTAGE_TEST_HOSTS"
GOOD_RUNS = 2
# short enough that a refresh of every case takes seconds: one retry, small
# delays, a Retry-After cap of 2 s, a 3 s download timeout (0.5 s for the
# site that hangs)
FAST = {
    "AUTOTHROTTLE_START_DELAY": 0.05,
    "DOWNLOAD_DELAY": 0.01,
    "DOWNLOAD_DELAY_JITTER": 0,
    "RETRY_TIMES": 1,
    "HUB_RETRY_BACKOFF_BASE": 0.1,
    "HUB_RETRY_AFTER_MAX": 2,
    "DOWNLOAD_TIMEOUT": 3,
    "LOG_LEVEL": "WARNING",
}
HANG_TIMEOUT_SECONDS = 0.5
CRAWL_TIMEOUT_SECONDS = 120
# crawls at once: the sites are on this machine, most of a crawl is waiting
PARALLEL_CRAWLS = 4
# the flow's own retries of a transient failure: as many, far sooner
FLOW_RETRY_BACKOFF_SECONDS = 0.1


# --- the resolver -------------------------------------------------------------


@implementer(IResolverSimple)
class TableResolver:
    """Names from the ``OUTAGE_TEST_HOSTS`` setting, and no others: a name not
    in the table fails as an unknown host would, and nothing is asked of DNS."""

    def __init__(self, reactor: Any, table: dict[str, str]) -> None:
        self.reactor = reactor
        self.table = table

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> TableResolver:
        return cls(reactor, dict(crawler.settings.getdict(HOSTS_SETTING)))

    def install_on_reactor(self) -> None:
        self.reactor.installResolver(self)

    def getHostByName(self, name: str, timeout: Any = ()) -> defer.Deferred:  # noqa: N802
        name = name.lower().rstrip(".")
        address = name if _is_address(name) else self.table.get(name)
        if address is None:
            return defer.fail(DNSLookupError(f"no such host: {name}"))
        return defer.succeed(address)


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


# --- the site -----------------------------------------------------------------

GOOD = "good"
MODES = (
    GOOD,
    "server_errors",  # every path, robots.txt too, answers 503
    "page_errors",  # robots.txt and the sitemap answer; every posting 500
    "storm",  # 429 with a Retry-After the crawl waits out, every time
    "storm_long",  # 429 with a Retry-After beyond HUB_RETRY_AFTER_MAX
    "storm_bare",  # 429 without Retry-After
    "hang",  # robots.txt answers; every other request held past DOWNLOAD_TIMEOUT
    "empty",  # 200 pages with no listing on them
    "half",  # the sitemap lists half the usual postings
    "unresolvable",  # the host name does not resolve
    "removed",  # a real change: the last posting left the site (the control)
)


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)
    hold: bool = False


class OutageSite:
    """A schema.org site on 127.0.0.1 whose ``mode`` the caller switches."""

    def __init__(self, name: str, keys: list[str], host: str | None = None) -> None:
        self.name = name
        self.keys = keys
        self.mode = GOOD
        self.requests = 0
        self._release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.host = f"{host or '127.0.0.1'}:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def answer(self, path: str) -> Reply:
        self.requests += 1
        trouble = self._trouble(path)
        if trouble is not None:
            return trouble
        if path == "/robots.txt":
            return Reply(200, b"User-agent: *\nAllow: /\n")
        if path == "/sitemap.xml":
            return Reply(200, self._sitemap(), "application/xml")
        key = path.removeprefix("/jobs/")
        if key in self.keys:
            return Reply(200, self._posting(key), "text/html; charset=utf-8")
        return Reply(404, b"not here")

    def _trouble(self, path: str) -> Reply | None:
        mode = self.mode
        if mode == "server_errors":
            return Reply(503, b"down for maintenance")
        if mode == "page_errors" and path.startswith("/jobs/"):
            return Reply(500, b"internal error")
        if mode.startswith("storm"):
            wait = {"storm": "1", "storm_long": "3600"}.get(mode)
            return Reply(
                429, b"slow down", headers={"Retry-After": wait} if wait else {}
            )
        if mode == "hang" and path != "/robots.txt":
            return Reply(200, b"", hold=True)
        if mode == "empty" and path.startswith("/jobs/"):
            return Reply(200, _page("<p>No vacancies at the moment.</p>"), _HTML)
        return None

    def _sitemap(self) -> bytes:
        keys = self.keys
        if self.mode == "half":
            keys = keys[: len(keys) // 2]
        elif self.mode == "removed":
            keys = keys[:-1]
        urls = "".join(f"<url><loc>{self.url('/jobs/' + k)}</loc></url>" for k in keys)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{urls}</urlset>"
        ).encode()

    def _posting(self, key: str) -> bytes:
        posting = {
            "@context": "https://schema.org",
            "@type": "JobPosting",
            "identifier": key,
            "title": f"{self.name.replace('_', ' ').title()} apprentice {key}",
            "hiringOrganization": {"@type": "Organization", "name": _provider(self)},
            "validThrough": "2031-12-31T17:00:00+00:00",
            "datePosted": "2026-11-01",
            "description": f"<p>A level 3 apprenticeship, reference {key}.</p>",
            "url": self.url(f"/jobs/{key}"),
        }
        block = json.dumps(posting).replace("</", "<\\/")
        return _page(f'<script type="application/ld+json">{block}</script>')


_HTML = "text/html; charset=utf-8"


def _page(body: str) -> bytes:
    return f"<html><head><title>Jobs</title></head><body>{body}</body></html>".encode()


def _provider(site: OutageSite) -> str:
    return f"{site.name.replace('_', ' ').title()} Trust"


def _handler(site: OutageSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            reply = site.answer(self.path)
            if reply.hold:
                # a server that took the connection and never answers
                site._release.wait(60)
                return
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


# --- the cases ----------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One source's outage, and how a run of it must be named: the crawl's
    status, the health verdict, and the words the ledger's reasons and the run
    report must hold."""

    mode: str
    status: str
    verdict: str
    words: str


CASES = (
    Case("hang", "failed", "failed", "timed out ("),
    Case("unresolvable", "failed", "failed", "could not resolve host ("),
    Case("storm", "partial", "suspicious", "rate limited: "),
    Case("storm_long", "partial", "suspicious", "rate limited: "),
    Case("storm_bare", "partial", "suspicious", "rate limited: "),
    Case("server_errors", "failed", "failed", "robots.txt unavailable (HTTP 503)"),
    Case("page_errors", "failed", "failed", "HTTP 500: "),
    Case("empty", "partial", "suspicious", "empty: 0 listings found"),
    Case("half", "ok", "suspicious", "found {half} listings against a median of {n}"),
)
# a listing that really left its source is still marked gone after two
# complete runs: the lifecycle is not simply switched off
CONTROL = Case("removed", "ok", "ok", "")


@dataclass
class SourceRun:
    """One source in one refresh: what the report and the ledger said."""

    source: str
    phase: str
    status: str
    verdict: str
    error: str | None
    reasons: list[str]
    ledger_verdict: str | None
    ledger_reasons: list[str]
    gone: int
    closed: int
    unchanged: int
    statuses: dict[str, str]


@dataclass
class Trial:
    seed: int
    size: int
    listings: dict[str, int]
    database_url: str = ""
    runs: list[SourceRun] = field(default_factory=list)
    summaries: list[tuple[str, str]] = field(default_factory=list)
    # each refresh's own report (flows.refresh.RefreshReport), by phase
    reports: list[tuple[str, Any]] = field(default_factory=list)
    seconds: list[tuple[str, float]] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)


def listing_counts(seed: int) -> dict[str, int]:
    """An even number of postings per source, 6 to 12, from the seed."""
    rng = random.Random(seed)
    return {case.mode: 2 * rng.randint(3, 6) for case in (*CASES, CONTROL)}


def run_trial(folder: Path, seed: int, size: int) -> Trial:
    """Good runs, ``size`` outage runs, a good run again: every case at once."""
    from prefect.testing.utilities import prefect_test_harness

    database_url = f"sqlite:///{folder / 'outages.sqlite'}"
    trial = Trial(seed, size, listing_counts(seed), database_url)
    with ExitStack() as stack:
        stack.enter_context(_child_environment())
        sites = {
            mode: _site(stack, mode, n, seed) for mode, n in trial.listings.items()
        }
        stack.enter_context(prefect_test_harness(server_startup_timeout=90))
        phases = ["good"] * GOOD_RUNS + ["outage"] * size + ["back"]
        for number, phase in enumerate(phases, start=1):
            for mode, site in sites.items():
                site.mode = mode if phase == "outage" else GOOD
            started = time.monotonic()
            _refresh(trial, sites, database_url, phase)
            trial.seconds.append((f"{phase} {number}", time.monotonic() - started))
        trial.requests = {mode: site.requests for mode, site in sites.items()}
    return trial


def _site(stack: ExitStack, mode: str, listings: int, seed: int) -> OutageSite:
    rng = random.Random(f"{seed}-{mode}")
    keys = [f"{mode[:3]}-{rng.randrange(10**6):06d}-{i}" for i in range(listings)]
    site = OutageSite(mode, keys, UNRESOLVABLE if mode == "unresolvable" else None)
    stack.callback(site.stop)
    return site


@contextmanager
def _child_environment() -> Iterator[None]:
    """Crawl children that can import this module (for its resolver)."""
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), saved]))
    for key, value in {
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }.items():
        os.environ.setdefault(key, value)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def _refresh(
    trial: Trial, sites: dict[str, OutageSite], database_url: str, phase: str
) -> None:
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.alerts import AlertSettings
    from flows.crawl import CrawlOptions
    from flows.refresh import refresh
    from flows.report import summary_markdown

    options = CrawlOptions(
        database_url=database_url,
        timeout_seconds=CRAWL_TIMEOUT_SECONDS,
        retry_backoff_seconds=FLOW_RETRY_BACKOFF_SECONDS,
    )
    resolvable = phase != "outage"
    entries = [_entry(site, sites, resolvable) for site in sites.values()]
    runner = ThreadPoolTaskRunner(max_workers=PARALLEL_CRAWLS)  # type: ignore[arg-type]
    report = refresh.with_options(task_runner=runner)(entries, options, AlertSettings())
    trial.summaries.append((phase, summary_markdown(report.sources, "")))
    trial.reports.append((phase, report))
    ledger = _ledger(database_url, [c.run_id for c in report.crawls])
    statuses = _listing_statuses(database_url)
    for row in report.sources:
        run_id = next(c.run_id for c in report.crawls if c.source == row.source)
        health = ledger.get(run_id)
        trial.runs.append(
            SourceRun(
                source=row.source,
                phase=phase,
                status=row.status,
                verdict=row.verdict,
                error=row.error,
                reasons=list(row.reasons),
                ledger_verdict=health[0] if health else None,
                ledger_reasons=health[1] if health else [],
                gone=row.gone,
                closed=row.closed,
                unchanged=row.unchanged,
                statuses=statuses.get(row.source, {}),
            )
        )


def _entry(site: OutageSite, sites: dict[str, OutageSite], resolvable: bool) -> Any:
    from hub.registry import SourceEntry
    from spiders.items import ProviderKind

    hosts = {UNRESOLVABLE: "127.0.0.1"} if resolvable else {}
    return SourceEntry(
        name=site.name,
        spider="schema_org",
        provider_kind=ProviderKind.CHARITY,
        args={"sitemap_urls": [site.url("/sitemap.xml")]},
        attribution=_provider(site),
        politeness={
            **FAST,
            **(
                {"DOWNLOAD_TIMEOUT": HANG_TIMEOUT_SECONDS}
                if site.name == "hang"
                else {}
            ),
            "HUB_ALLOWED_PRIVATE_HOSTS": [s.host for s in sites.values()],
            "TWISTED_DNS_RESOLVER": f"{__name__}.TableResolver",
            HOSTS_SETTING: hosts,
        },
    )


def _ledger(database_url: str, run_ids: list[int]) -> dict[int, tuple[str, list[str]]]:
    from storage.health import list_ledger
    from storage.session import make_engine, session_factory

    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            rows = list_ledger(session, per_source=1)
    finally:
        engine.dispose()
    return {
        row.run_id: (row.verdict or "", row.reasons)
        for row in rows
        if row.run_id in run_ids
    }


def _listing_statuses(database_url: str) -> dict[str, dict[str, str]]:
    from sqlalchemy import select

    from storage.models import Listing, Source
    from storage.session import make_engine, session_factory

    engine = make_engine(database_url)
    query = select(Source.name, Listing.source_key, Listing.status).join(Source)
    statuses: dict[str, dict[str, str]] = {}
    try:
        with session_factory(engine)() as session:
            for name, key, status in session.execute(query):
                statuses.setdefault(name, {})[key] = status
    finally:
        engine.dispose()
    return statuses


# --- the judgement ------------------------------------------------------------


def judge_trial(trial: Trial) -> list[str]:
    """Every broken promise of the trial, one line each (empty is the goal)."""
    problems: list[str] = []
    for case in CASES:
        problems += case_problems(trial, case)
    problems += control_problems(trial)
    problems += [f"wrong: {line}" for line in unjudged_runs(trial.database_url)]
    return problems


def unjudged_runs(database_url: str) -> list[str]:
    """Finished crawl runs the health ledger has no verdict on, or no words
    for why they were not ok (a try the flow made again counts too)."""
    from storage.health import list_ledger
    from storage.session import make_engine, session_factory

    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            rows = list_ledger(session, per_source=10_000)
    finally:
        engine.dispose()
    return [
        f"{row.source} run {row.run_id} ({row.status}): verdict {row.verdict}, "
        f"reasons {row.reasons}"
        for row in rows
        if row.verdict is None or (row.verdict != "ok" and not row.reasons)
    ]


def expected_words(trial: Trial, case: Case) -> str:
    n = trial.listings[case.mode]
    return case.words.format(n=n, half=n // 2)


def case_problems(trial: Trial, case: Case) -> list[str]:
    runs = [r for r in trial.runs if r.source == case.mode]
    n = trial.listings[case.mode]
    words = expected_words(trial, case)
    problems = []
    for index, run in enumerate(runs, start=1):
        where = f"{case.mode} run {index} ({run.phase})"
        problems += _kept_problems(where, run, n)
        if run.phase == "outage":
            problems += _naming_problems(where, run, case, words)
        elif run.status != "ok" or run.verdict != "ok" or run.ledger_verdict != "ok":
            problems.append(f"wrong: {where} is {run.status}/{run.verdict}, not ok")
    back = runs[-1] if runs else None
    if back is None or back.unchanged != n:
        got = back.unchanged if back else 0
        problems.append(f"lost: {case.mode} came back with {got} of {n} listings")
    return problems


def _kept_problems(where: str, run: SourceRun, n: int) -> list[str]:
    problems = []
    if run.gone or run.closed:
        problems.append(f"lost: {where} marked {run.gone} gone, {run.closed} closed")
    lost = sorted(k for k, status in run.statuses.items() if status != "active")
    if lost:
        problems.append(f"lost: {where} left {len(lost)} listings not active")
    if len(run.statuses) != n:
        problems.append(f"lost: {where} holds {len(run.statuses)} of {n} listings")
    return problems


def _naming_problems(where: str, run: SourceRun, case: Case, words: str) -> list[str]:
    problems = []
    if (run.status, run.verdict) != (case.status, case.verdict):
        problems.append(
            f"wrong: {where} is {run.status}/{run.verdict}, "
            f"not {case.status}/{case.verdict}"
        )
    if run.ledger_verdict != case.verdict:
        problems.append(f"wrong: {where} ledger verdict {run.ledger_verdict!r}")
    if not any(words in reason for reason in run.ledger_reasons):
        problems.append(
            f"wrong: {where} ledger says {run.ledger_reasons}, not {words!r}"
        )
    if not any(words in text for text in filter(None, [run.error, *run.reasons])):
        problems.append(f"wrong: {where} report says {run.error!r}, not {words!r}")
    return problems


def control_problems(trial: Trial) -> list[str]:
    """The control source: its removed posting is gone after two complete
    outage runs, and active again once the source lists it again."""
    runs = [r for r in trial.runs if r.source == CONTROL.mode]
    outages = [r for r in runs if r.phase == "outage"]
    gone = [sum(s == "gone" for s in r.statuses.values()) for r in outages]
    problems = []
    if len(outages) >= 2 and gone[1:] != [1] * (len(outages) - 1):
        problems.append(f"wrong: removed posting gone after each outage run: {gone}")
    if runs and set(runs[-1].statuses.values()) != {"active"}:
        problems.append("wrong: the removed posting did not come back active")
    return problems


# --- the benchmark's entry point ------------------------------------------------


def outage_figures(folder: Path, seed: int, size: int) -> dict[str, Any]:
    """Every outage case through ``size`` refreshes of the real flow, judged.

    ``tried`` counts each case's outage runs; ``survived`` those that kept every
    listing and were named for what they were; ``lost`` names each problem.
    """
    started = time.monotonic()
    trial = run_trial(Path(folder), seed, size)
    figures = trial_figures(trial)
    figures["notes"].append(f"total {time.monotonic() - started:.0f} s")
    return figures


def trial_figures(trial: Trial) -> dict[str, Any]:
    """The benchmark's dict for a trial that has run."""
    problems = judge_trial(trial)
    tried = len(CASES) * trial.size
    notes = [
        f"{len(CASES)} outage cases and a control, one loopback site each, "
        f"{GOOD_RUNS} good runs, {trial.size} outage runs, 1 good run again "
        f"(seed {trial.seed}; {sum(trial.listings.values())} postings)",
        "refreshes: "
        + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in trial.seconds),
    ]
    notes += [f"{case.mode}: {_last_words(trial, case)}" for case in CASES]
    notes.append(
        "requests served: "
        + ", ".join(f"{mode} {n}" for mode, n in sorted(trial.requests.items()))
    )
    return {
        "name": "source outages",
        "tried": tried,
        "survived": _clean_outage_runs(trial),
        "lost": problems,
        "notes": notes,
    }


def _clean_outage_runs(trial: Trial) -> int:
    """Outage runs that kept every listing and were named for what they were."""
    clean = 0
    for case in CASES:
        n, words = trial.listings[case.mode], expected_words(trial, case)
        for run in trial.runs:
            if run.source != case.mode or run.phase != "outage":
                continue
            problems = _kept_problems("", run, n) + _naming_problems(
                "", run, case, words
            )
            clean += not problems
    return clean


def _last_words(trial: Trial, case: Case) -> str:
    runs = [r for r in trial.runs if r.source == case.mode and r.phase == "outage"]
    if not runs:
        return "not run"
    last = runs[-1]
    why = "; ".join(dict.fromkeys(filter(None, [last.error, *last.ledger_reasons])))
    return f"{last.status}/{last.verdict}: {why}"
