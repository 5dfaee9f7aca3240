from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from hub.web import static
from hub.web.static import PublishError, safe_path, write_static
from storage.feed import record_change
from storage.integrity import check_published_folder
from storage.models import Opportunity
from storage.session import transaction
from tests.web.feed_builders import golden

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def published_db(feed_db):
    for n in range(7):
        feed_db.add(f"opp_{n}", golden(f"Apprenticeship {n}"))
    feed_db.publish()
    return feed_db


def _pages(folder: Path) -> list[dict]:
    index = json.loads((folder / "index.json").read_text())
    name, pages = index["feed"], []
    while True:
        page = json.loads((folder / name).read_text())
        pages.append(page)
        following = "feed/" + page["next"]
        if following == name:
            return pages
        name = following


def test_static_feed_pages_chain_to_a_self_pointing_last_page(published_db, tmp_path):
    out = tmp_path / "site"
    summary = write_static(published_db.factory, out, page_size=3)
    pages = _pages(out)
    assert [len(p["items"]) for p in pages] == [3, 3, 1, 0]
    assert summary.items == 7 and summary.pages == 4
    for name in ("export.jsonl", "export.csv", "feed.atom", "sources.json"):
        assert (out / name).stat().st_size > 0


def _read_on(folder: Path, name: str) -> tuple[list[dict], str]:
    """The items from the page ``name`` on, and the page a reader then holds."""
    items = []
    while True:
        page = json.loads((folder / "feed" / name).read_text())
        items += page["items"]
        if page["next"] == name:
            return items, name
        name = page["next"]


def _change(feed_db, opportunity_id: str) -> None:
    with transaction(feed_db.factory) as session:
        opportunity = session.get(Opportunity, opportunity_id)
        opportunity.golden = {**opportunity.golden, "summary": "changed"}
        record_change(session, opportunity, "updated")


def test_a_reader_holding_a_position_sees_each_later_change_once(
    published_db, tmp_path
):
    """One reader read the whole feed, one only its first page; then three
    publishes, each with changes, and a reader who stops at each."""
    out = tmp_path / "site"
    write_static(published_db.factory, out, page_size=3)
    done, done_at = _read_on(out, "start.json")
    first = json.loads((out / "feed" / "start.json").read_text())
    part, part_at = first["items"], first["next"]
    assert len(done) == 7 and len(part) == 3
    for changed in (["opp_1", "opp_5"], ["opp_5", "opp_0", "opp_6"], ["opp_3"]):
        for opportunity_id in changed:
            _change(published_db, opportunity_id)
        published_db.add(f"opp_new_{changed[0]}", golden("New Apprenticeship"))
        published_db.publish()
        write_static(published_db.factory, out, page_size=3)
        assert check_published_folder(out) == []

        news, done_at = _read_on(out, done_at)
        assert [i["id"] for i in news] == [*changed, f"opp_new_{changed[0]}"]

    rest, _ = _read_on(out, part_at)
    part += rest
    whole, _ = _read_on(out, "start.json")
    keys = [(item["modified"], item["id"]) for item in part]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    latest = {item["id"]: item["modified"] for item in part}
    assert latest == {item["id"]: item["modified"] for item in whole}
    assert len(whole) == 10


def test_a_position_is_kept_as_long_as_tombstones(published_db, tmp_path, monkeypatch):
    out = tmp_path / "site"
    write_static(published_db.factory, out, page_size=3)
    held = json.loads((out / "feed" / "start.json").read_text())["next"]
    later = datetime.now(UTC) + static.KEEP_POSITIONS + timedelta(hours=1)
    _change(published_db, "opp_2")
    published_db.publish()
    write_static(published_db.factory, out, page_size=3)
    assert (out / "feed" / held).exists()

    monkeypatch.setattr(static, "datetime", _Frozen.at(later))
    write_static(published_db.factory, out, page_size=3)

    assert not (out / "feed" / held).exists()
    assert check_published_folder(out) == []
    assert len(_read_on(out, "start.json")[0]) == 7


def test_a_url_given_out_by_the_last_publish_keeps_working(
    published_db, tmp_path, monkeypatch
):
    """After a quiet week of daily publishes, a reader at the end still finds
    the page it holds, with the change made since."""
    out = tmp_path / "site"
    day = datetime.now(UTC)
    for n in range(9):
        monkeypatch.setattr(static, "datetime", _Frozen.at(day + timedelta(days=n)))
        if n == 8:
            _change(published_db, "opp_0")
            published_db.publish()
        write_static(published_db.factory, out, page_size=4)
        if n == 7:
            _, held = _read_on(out, "start.json")

    news, _ = _read_on(out, held)
    assert [item["id"] for item in news] == ["opp_0"]


@pytest.mark.parametrize(
    "entry",
    [
        [1, "opp_1", "2026-01-01T00:00:00"],
        [10**20, "opp_1", "2099-01-01T00:00:00+00:00"],
        [1, "../../x", "2099-01-01T00:00:00+00:00"],
        [1, "opp_1"],
        "opp_1",
    ],
    ids=["no-zone", "huge-stamp", "path-in-id", "short", "not-a-list"],
)
def test_a_damaged_list_of_positions_is_ignored(published_db, tmp_path, entry):
    out = tmp_path / "site"
    write_static(published_db.factory, out, page_size=3)
    listed = out / "feed" / static.POSITIONS_FILE
    listed.write_text(json.dumps({"positions": [entry]}))

    write_static(published_db.factory, out, page_size=3)

    assert check_published_folder(out) == []
    assert len(_read_on(out, "start.json")[0]) == 7


class _Frozen(datetime):
    moment: datetime

    @classmethod
    def at(cls, moment: datetime) -> type[_Frozen]:
        return type("Frozen", (cls,), {"moment": moment})

    @classmethod
    def now(cls, tz=None):  # noqa: ANN001, ANN206 - as datetime.now
        return cls.moment


def test_every_link_under_the_base_url_names_a_published_file(published_db, tmp_path):
    base = "https://feeds.example.org/hub"
    out = tmp_path / "site"
    write_static(published_db.factory, out, base_url=base + "/", page_size=3)
    linked = {
        link.removeprefix(base).lstrip("/")
        for path in out.rglob("*")
        if path.is_file()
        for link in re.findall(re.escape(base) + r"[^\s\"'<>]*", path.read_text())
    }

    assert {"feed/start.json", "feed.atom", "feed.json"} <= linked
    assert [name for name in linked if not (out / name).exists()] == []


@pytest.mark.parametrize(
    "base_url",
    ["javascript:alert(1)", "feeds.example.org", "https://", "https://x.org/?a=1"],
)
def test_a_base_url_that_cannot_make_links_is_refused(published_db, tmp_path, base_url):
    with pytest.raises(PublishError, match="base URL"):
        write_static(published_db.factory, tmp_path / "out" / "site", base_url=base_url)
    assert not (tmp_path / "out").exists()


def test_publish_swaps_the_link_and_keeps_one_previous_version(published_db, tmp_path):
    out = tmp_path / "site"
    versions = [write_static(published_db.factory, out).folder for _ in range(3)]
    assert out.is_symlink() and out.resolve() == versions[-1]
    assert not versions[0].exists() and versions[1].exists()
    assert not list(tmp_path.glob("site.tmp-*"))


def test_a_reader_never_sees_a_half_written_feed(published_db, tmp_path):
    out = tmp_path / "site"
    write_static(published_db.factory, out, page_size=2)
    stop, failures = threading.Event(), []

    def read() -> None:
        while not stop.is_set():
            try:
                assert sum(len(p["items"]) for p in _pages(out)) == 7
            except (OSError, ValueError, AssertionError) as exc:
                failures.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    for _ in range(4):
        write_static(published_db.factory, out, page_size=2)
    stop.set()
    reader.join()
    assert failures == []


def test_publish_refuses_to_replace_a_real_folder(published_db, tmp_path):
    (tmp_path / "site").mkdir()
    with pytest.raises(PublishError, match="not a published link"):
        write_static(published_db.factory, tmp_path / "site")


@pytest.mark.parametrize(
    "names",
    [
        pytest.param(("..", "x.json"), id="parent"),
        pytest.param(("../x.json",), id="parent-in-name"),
        pytest.param(("/etc/passwd",), id="absolute"),
        pytest.param(("feed", ".hidden"), id="dot-file"),
        pytest.param(("a\x00b",), id="nul"),
    ],
)
def test_no_name_makes_a_path_outside_the_folder(tmp_path, names):
    with pytest.raises(PublishError):
        safe_path(tmp_path, *names)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_hub_serve_answers_docs_on_loopback(published_db, tmp_path):
    port = _free_port()
    env = {**os.environ, "HUB_DATABASE_URL": published_db.url}
    server = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
    )
    try:
        response = _wait_for(f"http://127.0.0.1:{port}/docs")
        assert response.status_code == 200
        feed = httpx.get(f"http://127.0.0.1:{port}/feed", timeout=10).json()
        assert len(feed["items"]) == 7
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_for(url: str) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_the_published_folder_is_readable_by_a_web_server(published_db, tmp_path):
    """Another user (the web server's) reads what the umask lets it read."""
    previous = os.umask(0o022)
    try:
        folder = write_static(published_db.factory, tmp_path / "site").folder
    finally:
        os.umask(previous)

    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "export.jsonl").stat().st_mode) == 0o644
