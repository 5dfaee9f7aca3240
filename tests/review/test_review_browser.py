"""The review pages in Debian's Chromium (Playwright, sync API), against the app
served by uvicorn on 127.0.0.1 in a thread: the keyboard flow, undo, a split,
the feed following them, and scraped script payloads that must not run.

The pair view's screenshot is saved to ``tests/review/artifacts/pair_view.png``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from dedupe.adapter import match_listings
from hub.web.review.app import build_review_app
from hub.web.review.settings import ReviewSettings
from storage.feed import publish_feed
from storage.models import Decision, MatchPair, OpportunityMember
from storage.session import transaction
from tests.review.review_builders import (
    PASSWORD,
    T0,
    Spec,
    add_listings,
    add_reviewer,
    days,
    listing_id,
)

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
pytestmark = [
    pytest.mark.db,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed at /usr/bin/chromium",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
]
FEED_WAIT_SECONDS = 60


@dataclass
class Served:
    base: str
    factory: sessionmaker[Session]
    app: Any


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def serve(database_url: str) -> Iterator[Callable[[], Served]]:
    """Starts the app (re-clustering in the background, as deployed)."""
    servers: list[tuple[uvicorn.Server, threading.Thread, Any]] = []

    def start() -> Served:
        app = build_review_app(database_url, ReviewSettings(recluster="background"))
        port = _free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "uvicorn did not start"
        servers.append((server, thread, app))
        return Served(f"http://127.0.0.1:{port}", app.state.hub.factory, app)

    yield start
    for server, thread, app in servers:
        app.state.review.reclusterer.wait(FEED_WAIT_SECONDS)
        server.should_exit = True
        thread.join(10)
        app.state.hub.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def _sign_in(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/review")
    assert "/review/signin" in page.url
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(f"{base}/review")


def _member_of(factory: sessionmaker[Session], listing: int) -> str:
    with factory() as session:
        return session.get_one(OpportunityMember, listing).opportunity_id


def _feed_listings(page: Any, base: str, opportunity_id: str) -> set[str]:
    record = page.request.get(f"{base}/opportunities/{opportunity_id}").json()
    return {item["source_key"] for item in record.get("listings", [])}


def _wait_for_feed(
    page: Any, base: str, factory: sessionmaker[Session], key: int, want: set[str]
) -> None:
    """Until the feed's opportunity of listing ``key`` lists exactly ``want``."""
    deadline = time.monotonic() + FEED_WAIT_SECONDS
    found: set[str] = set()
    while time.monotonic() < deadline:
        found = _feed_listings(page, base, _member_of(factory, key))
        if found == want:
            return
        time.sleep(0.25)
    raise AssertionError(f"the feed lists {sorted(found)}, expected {sorted(want)}")


def _blur(page: Any) -> None:
    page.locator("h1").click()


def test_keyboard_review_undo_and_split_reach_the_feed(
    matched: sessionmaker[Session], serve: Callable[[], Served], page: Any
) -> None:
    served = serve()
    add_reviewer(served.factory, "ana")
    law = [listing_id(matched, "brightpath", "law-1")]
    law.append(listing_id(matched, "jobs_board", "law-2"))
    dm = [listing_id(matched, s, f"dm-{n}") for n, s in ((1, "brightpath"),)]
    cluster = _member_of(matched, dm[0])
    _sign_in(page, served.base, "ana")

    # resolve the pair with the keyboard: a note, then "s"
    page.click("#start")
    page.wait_for_selector("#decide")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "pair_view.png"), full_page=True)
    page.fill("input[name=note]", "same school, two boards")
    _blur(page)
    page.keyboard.press("s")
    page.wait_for_selector("#saved")
    _wait_for_feed(page, served.base, matched, law[0], {"law-1", "law-2"})

    # undo it with "u"
    page.keyboard.press("u")
    page.wait_for_selector("#undone")
    _wait_for_feed(page, served.base, matched, law[0], {"law-1"})

    # split dm-3 out of its cluster
    page.goto(f"{served.base}/review/clusters/{cluster}")
    dm3 = listing_id(matched, "careers_hub", "dm-3")
    page.click(f"#member-{dm3} button.split")
    page.wait_for_selector("#split-done")
    _wait_for_feed(page, served.base, matched, dm[0], {"dm-1", "dm-2"})
    _wait_for_feed(page, served.base, matched, dm3, {"dm-3"})

    with matched() as session:
        kinds = [
            (d.kind, d.reason) for d in session.query(Decision).order_by(Decision.id)
        ]
    assert kinds[:2] == [
        ("must_link", "same school, two boards"),
        ("undo", kinds[1][1]),
    ]
    assert [k for k, _ in kinds[2:]] == ["cannot_link", "cannot_link"]


SCRIPT = "<script>window.__pwned=(window.__pwned||0)+1</script>"
IMG = '"><img src=x onerror="window.__pwned=1">'
SVG = "'><svg onload=window.__pwned=1>"
PAYLOAD = f"{SCRIPT}{IMG}{SVG}"
TEXT_FIELDS = ("summary", "description_text", "pay_text", "closing_text", "notes")


def _payload_specs() -> list[Spec]:
    extra = {name: PAYLOAD for name in TEXT_FIELDS}
    extra[f"x{IMG}"] = PAYLOAD  # a field name from the source, too
    return [
        Spec(
            source="evil_board" if n else "brightpath",
            key=f"{SVG}{n}",
            title=f"Payload {n} {PAYLOAD}",
            provider=PAYLOAD,
            postcode="<i>x</i>",
            closing=T0 + days(9),
            description=PAYLOAD,
            apply_url="javascript:window.__pwned=1",
            url="javascript:window.__pwned=1",
            opportunity_type=f"t{SVG}",
            extra=extra,
            columns={"canonical_url": f"data:text/html,{SCRIPT}", "outcode": "<i>"},
        )
        for n in range(2)
    ]


@pytest.fixture
def payloads(factory: sessionmaker[Session]) -> tuple[int, int]:
    add_listings(factory, _payload_specs())
    match_listings(factory)
    publish_feed(factory)
    a = listing_id(factory, "brightpath", f"{SVG}0")
    b = listing_id(factory, "evil_board", f"{SVG}1")
    with transaction(factory) as session:
        session.query(MatchPair).delete()
        session.add(
            MatchPair(
                listing_a=min(a, b),
                listing_b=max(a, b),
                score=55.0,
                band="review",
                features={f"title{IMG}": 50.0},
                explanation=PAYLOAD,
            )
        )
    return (min(a, b), max(a, b))


def _assert_inert(page: Any, events: list[str]) -> None:
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src=x]").count() == 0
    assert page.locator("main svg").count() == 0
    assert events == []


def test_scraped_script_payloads_never_run(
    payloads: tuple[int, int], serve: Callable[[], Served], page: Any
) -> None:
    served = serve()
    add_reviewer(served.factory, IMG, "admin")
    events: list[str] = []
    page.on("dialog", lambda dialog: events.append(f"dialog {dialog.message}"))
    _sign_in(page, served.base, IMG)
    a, b = payloads
    cluster = _member_of(served.factory, a)

    visited = []
    for path in (
        "/review",
        f"/review/pairs/{a}-{b}",
        f"/review/clusters/{cluster}",
        "/review/clusters",
    ):
        page.goto(served.base + path)
        _assert_inert(page, events)
        visited.append(page.inner_text("main"))
    page.goto(f"{served.base}/review/pairs/{a}-{b}")
    page.fill("input[name=note]", PAYLOAD)
    page.click("button[value=different]")
    page.goto(f"{served.base}/review/audit")
    _assert_inert(page, events)
    links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")

    assert all(SCRIPT in text for text in visited[:3])
    assert SCRIPT in page.inner_text("main")
    assert IMG in page.inner_text("header")
    assert not [h for h in links if not h.startswith(("http://", "https://"))]
