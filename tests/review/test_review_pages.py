"""The review pages over HTTP (httpx on the ASGI app): access, sign-in, CSRF,
headers, decisions that reach the feed, export and import."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from hub.web.review.security import CSP
from storage.models import Decision, OpportunityMember, utcnow
from storage.models_review import SigninFailure, UserSession
from storage.session import transaction
from tests.review.conftest import Client
from tests.review.review_builders import add_reviewer, listing_id

pytestmark = pytest.mark.db

PAGES = [
    pytest.param("/review", id="queue"),
    pytest.param("/review/next", id="next"),
    pytest.param("/review/pairs/1-2", id="pair"),
    pytest.param("/review/clusters", id="clusters"),
    pytest.param("/review/audit", id="audit"),
    pytest.param("/review/accuracy", id="accuracy"),
    pytest.param("/review/decisions.json", id="export"),
]
WRITES = [
    pytest.param("/review/pairs/1-2/decide", {"said": "same"}, id="decide"),
    pytest.param("/review/undo", {}, id="undo"),
    pytest.param("/review/clusters/x/split", {"listing_id": "3"}, id="split"),
    pytest.param("/review/decisions/import", {}, id="import"),
    pytest.param("/review/signout", {}, id="signout"),
]


def _member_of(factory: sessionmaker[Session], listing: int) -> str:
    with factory() as session:
        return session.get_one(OpportunityMember, listing).opportunity_id


def _decisions(factory: sessionmaker[Session]) -> list[tuple[int, int, str, str]]:
    with factory() as session:
        rows = session.scalars(select(Decision).order_by(Decision.id))
        return [(d.listing_a, d.listing_b, d.kind, d.reviewer) for d in rows]


def _signed_in(make_client: Callable[..., Client], role: str = "reviewer") -> Client:
    client = make_client()
    add_reviewer(client.app.state.hub.factory, "ana", role)
    assert client.sign_in("ana").status_code == 303
    return client


@pytest.mark.parametrize("path", PAGES)
def test_review_pages_redirect_to_sign_in_without_a_session(
    make_client: Callable[..., Client], path: str
) -> None:
    response = make_client().get(path)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/review/signin?next=")


@pytest.mark.parametrize(("path", "data"), WRITES)
def test_writes_answer_401_without_a_session(
    make_client: Callable[..., Client],
    matched: sessionmaker[Session],
    path: str,
    data: dict[str, str],
) -> None:
    response = make_client().post(path, data={**data, "csrf_token": "x"})

    assert response.status_code == 401
    assert _decisions(matched) == []


def test_the_feed_stays_public(make_client: Callable[..., Client]) -> None:
    client = make_client()

    assert client.get("/feed").status_code == 200
    assert client.get("/opportunities").status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("not-the-token", id="wrong"),
    ],
)
def test_a_post_without_the_sessions_csrf_token_is_refused(
    make_client: Callable[..., Client],
    matched: sessionmaker[Session],
    token: str | None,
) -> None:
    client = _signed_in(make_client)
    a, b = (
        listing_id(matched, "brightpath", "law-1"),
        listing_id(matched, "jobs_board", "law-2"),
    )
    data = {"said": "same"} | ({"csrf_token": token} if token is not None else {})

    response = client.post(f"/review/pairs/{a}-{b}/decide", data=data)

    assert response.status_code == 403
    assert _decisions(matched) == []


def test_another_sessions_csrf_token_is_refused(
    make_client: Callable[..., Client], matched: sessionmaker[Session]
) -> None:
    first = _signed_in(make_client)
    other = make_client()
    assert other.sign_in("ana").status_code == 303

    response = first.post(
        "/review/undo", data={"csrf_token": other.csrf()}, follow_redirects=False
    )

    assert response.status_code == 403


def test_sign_in_sets_a_strict_session_cookie(
    make_client: Callable[..., Client],
) -> None:
    client = make_client("https://hub.test", secure_cookie=True)
    add_reviewer(client.app.state.hub.factory, "ana")

    response = client.sign_in("ana")

    cookie = response.headers["set-cookie"].lower()
    assert response.status_code == 303
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" in cookie
    assert "path=/review" in cookie


def test_signing_in_replaces_the_pre_sign_in_session(
    make_client: Callable[..., Client],
) -> None:
    client = make_client()
    add_reviewer(client.app.state.hub.factory, "ana")
    client.get("/review/signin")
    before = client.cookies["hub_review_session"]

    client.sign_in("ana")

    assert client.cookies["hub_review_session"] != before
    assert client.get("/review").status_code == 200


def test_an_expired_session_is_signed_out(
    make_client: Callable[..., Client], matched: sessionmaker[Session]
) -> None:
    client = _signed_in(make_client)
    with transaction(matched) as session:
        session.execute(
            update(UserSession).values(expires=utcnow() - timedelta(seconds=1))
        )

    response = client.get("/review")

    assert response.status_code == 303


@pytest.mark.parametrize(
    ("failures", "status"),
    [
        pytest.param(1, 401, id="first failure: no wait"),
        pytest.param(3, 401, id="third failure: still free"),
        pytest.param(4, 429, id="fourth failure: blocked"),
    ],
)
def test_failed_sign_ins_are_slowed_per_user_and_address(
    make_client: Callable[..., Client], failures: int, status: int
) -> None:
    client = make_client()
    add_reviewer(client.app.state.hub.factory, "ana")

    for _ in range(failures):
        response = client.sign_in("ana", "wrong password")

    assert response.status_code == status
    assert ("retry-after" in response.headers) == (status == 429)


def test_the_right_password_waits_out_a_block(
    make_client: Callable[..., Client], matched: sessionmaker[Session]
) -> None:
    client = make_client()
    add_reviewer(matched, "ana")
    for _ in range(4):
        client.sign_in("ana", "wrong password")

    blocked = client.sign_in("ana")
    with transaction(matched) as session:
        session.execute(update(SigninFailure).values(blocked_until=None))
    allowed = client.sign_in("ana")

    assert blocked.status_code == 429
    assert allowed.status_code == 303


@pytest.mark.parametrize("path", ["/review", "/review/signin", "/review/accuracy"])
def test_pages_carry_the_content_security_policy(
    make_client: Callable[..., Client], path: str
) -> None:
    client = _signed_in(make_client)

    response = client.get(path, follow_redirects=True)

    assert response.headers["content-security-policy"] == CSP
    assert "frame-ancestors 'none'" in CSP
    assert "unsafe-inline" not in CSP
    assert response.headers["x-frame-options"] == "DENY"


def test_a_decision_reaches_the_feed_and_undo_takes_it_back(
    make_client: Callable[..., Client], matched: sessionmaker[Session]
) -> None:
    client = _signed_in(make_client)
    a = listing_id(matched, "brightpath", "law-1")
    b = listing_id(matched, "jobs_board", "law-2")
    assert _member_of(matched, a) != _member_of(matched, b)
    token = client.csrf()

    decided = client.post(
        f"/review/pairs/{a}-{b}/decide",
        data={"csrf_token": token, "said": "same", "note": "same school"},
    )
    merged = _member_of(matched, a) == _member_of(matched, b)
    feed = client.get(f"/opportunities/{_member_of(matched, a)}").json()
    undone = client.post("/review/undo", data={"csrf_token": token})

    assert decided.status_code == 303
    assert decided.headers["location"] == "/review?saved=same"
    assert merged
    assert len(feed["listings"]) == 2
    assert undone.status_code == 303
    assert _member_of(matched, a) != _member_of(matched, b)
    assert [k for *_, k, _ in _decisions(matched)] == ["must_link", "undo"]


def test_splitting_a_listing_out_of_a_cluster(
    make_client: Callable[..., Client], matched: sessionmaker[Session]
) -> None:
    client = _signed_in(make_client)
    ids = [
        listing_id(matched, s, f"dm-{n}")
        for n, s in enumerate(("brightpath", "jobs_board", "careers_hub"), start=1)
    ]
    cluster = _member_of(matched, ids[0])
    page = client.get(f"/review/clusters/{cluster}")

    response = client.post(
        f"/review/clusters/{cluster}/split",
        data={"csrf_token": client.csrf(), "listing_id": str(ids[2])},
    )

    assert page.text.count("Split this one out") == 3
    assert response.status_code == 303
    assert _member_of(matched, ids[2]) != cluster
    assert _member_of(matched, ids[0]) == _member_of(matched, ids[1])
    assert sorted(_decisions(matched)) == sorted(
        [(ids[0], ids[2], "cannot_link", "ana"), (ids[1], ids[2], "cannot_link", "ana")]
    )


def test_only_an_admin_imports_decisions(
    make_client: Callable[..., Client],
) -> None:
    client = _signed_in(make_client, role="reviewer")
    document = json.dumps({"format": "opportunity-hub-decisions/1", "decisions": []})

    response = client.post(
        "/review/decisions/import",
        data={"csrf_token": client.csrf()},
        files={"file": ("d.json", document, "application/json")},
    )

    assert response.status_code == 403


def test_export_then_import_through_the_pages(
    make_client: Callable[..., Client], matched: sessionmaker[Session]
) -> None:
    client = _signed_in(make_client, role="admin")
    a = listing_id(matched, "brightpath", "law-1")
    b = listing_id(matched, "jobs_board", "law-2")
    client.post(
        f"/review/pairs/{a}-{b}/decide",
        data={"csrf_token": client.csrf(), "said": "different"},
    )

    exported = client.get("/review/decisions.json")
    again = client.post(
        "/review/decisions/import",
        data={"csrf_token": client.csrf()},
        files={"file": ("d.json", exported.content, "application/json")},
    )
    broken = client.post(
        "/review/decisions/import",
        data={"csrf_token": client.csrf()},
        files={"file": ("d.json", b"{not json", "application/json")},
    )

    assert exported.json()["decisions"][0]["a"] == {
        "source": "brightpath",
        "source_key": "law-1",
    }
    assert again.headers["location"] == "/review/audit?imported=0&present=1&unknown=0"
    assert broken.status_code == 400
    assert len(_decisions(matched)) == 1


def test_the_queue_counts_what_waits(
    make_client: Callable[..., Client],
) -> None:
    client = _signed_in(make_client)

    page = client.get("/review").text
    filtered = client.get("/review?source=careers_hub").text

    assert '<strong id="waiting">1</strong>' in page
    assert "Summer School in Law" in page
    assert "Summer School in Law" not in filtered


def test_skip_writes_no_decision_and_sends_the_pair_to_the_end(
    make_client: Callable[..., Client], matched: sessionmaker[Session]
) -> None:
    client = _signed_in(make_client)
    a, b = _law_pair(matched)

    response = client.post(
        f"/review/pairs/{a}-{b}/decide",
        data={"csrf_token": client.csrf(), "said": "skip"},
    )
    queue = client.get("/review").text

    assert response.headers["location"] == "/review?saved=skip"
    assert _decisions(matched) == []
    assert "<em>skipped</em>" in queue
    assert '<strong id="waiting">1</strong>' in queue


def _law_pair(factory: sessionmaker[Session]) -> tuple[int, int]:
    return (
        listing_id(factory, "brightpath", "law-1"),
        listing_id(factory, "jobs_board", "law-2"),
    )


def test_a_decision_made_on_a_stale_page_does_not_replace_a_colleagues(
    make_client: Callable[..., Client], matched: sessionmaker[Session]
) -> None:
    ana = _signed_in(make_client)
    bea = make_client()
    add_reviewer(bea.app.state.hub.factory, "bea", "reviewer")
    assert bea.sign_in("bea").status_code == 303
    a = listing_id(matched, "brightpath", "law-1")
    b = listing_id(matched, "jobs_board", "law-2")
    page = f"/review/pairs/{a}-{b}"
    seen = re.search(r'name="seen" value="([^"]*)"', bea.get(page).text)
    assert seen is not None and seen.group(1) == "0"  # nothing decided yet

    ana.post(f"{page}/decide", data={"csrf_token": ana.csrf(), "said": "same"})
    stale = bea.post(
        f"{page}/decide",
        data={"csrf_token": bea.csrf(), "said": "different", "seen": seen.group(1)},
    )
    shown = bea.get(stale.headers["location"])

    assert stale.status_code == 303 and "overtaken=1" in stale.headers["location"]
    assert [k for *_, k, _ in _decisions(matched)] == ["must_link"]
    assert 'id="overtaken"' in shown.text and 'name="seen" value="' in shown.text
    fresh = re.search(r'name="seen" value="([^"]*)"', shown.text)
    assert fresh is not None
    again = bea.post(
        f"{page}/decide",
        data={"csrf_token": bea.csrf(), "said": "different", "seen": fresh.group(1)},
    )
    assert "overtaken" not in again.headers["location"]
    assert [k for *_, k, _ in _decisions(matched)] == ["must_link", "cannot_link"]
