"""The feed as static files, swapped in atomically.

``write_static(factory, out)`` writes RPDE pages (``feed/start.json``, then
``feed/after-<stamp>-<id>.json`` for the items after each page boundary),
every export, ``sources.json`` and ``index.json`` into a new sibling folder
``<out>.tmp-XXXX``, renames it to ``<out>.v-<stamp>-XXXX`` and then points the
symbolic link ``<out>`` at it with one ``rename``: a reader sees the old feed
or the new one, never half of one. The version before stays on disk (a reader
part way through it can finish); older ones are removed. Every file is read
from one snapshot of the database, so they agree item for item. One publisher
writes beside ``<out>`` at a time (a lock on its folder), and it first removes
the unfinished folder of any publisher that was killed part way.

File names are fixed, or made from feed positions (a change stamp and one of
the hub's own ids), and every path is checked to stay inside the folder being
written.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hub.exceptions import HubError
from hub.web.context import FEED_LICENCE
from hub.web.exports import EXPORTS, stream_export
from hub.web.rpde import MAX_RPDE_PAGE, from_micros, rpde_page, to_micros
from hub.web.sources import list_source_reports
from storage.feed import TOMBSTONE_DAYS, FeedPosition, list_feed_positions

logger = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}")


class PublishError(HubError):
    """The output folder cannot be published to as asked."""


@dataclass(frozen=True)
class StaticSummary:
    folder: Path
    pages: int
    items: int


def write_static(
    factory: sessionmaker[Session],
    out: Path,
    *,
    base_url: str = "",
    page_size: int = MAX_RPDE_PAGE,
    licence: str = FEED_LICENCE,
) -> StaticSummary:
    """Write the feed under a new folder and make ``out`` point at it.

    Raises:
        PublishError: ``out`` exists and is not a link this function made.
    """
    out = Path(os.path.abspath(out))
    base_url = _checked_base_url(base_url)
    if out.exists() and not out.is_symlink():
        raise PublishError(
            f"{out} exists and is not a published link; move it away or pick another"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    with _publishing(out):
        tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.tmp-", dir=out.parent))
        try:
            # mkdtemp makes it for its owner alone: a web server reads it too
            tmp.chmod(0o777 & ~_umask())
            with _snapshot(factory) as snapshot:
                pages, items = _write_all(
                    snapshot,
                    tmp,
                    base_url,
                    page_size,
                    licence,
                    out.resolve() if out.is_symlink() else None,
                )
            version = _version_path(out)
            tmp.rename(version)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        previous = _swap_link(out, version)
        _remove_old_versions(out, keep={version.name, previous})
    logger.info("Published %d feed items in %d pages to %s", items, pages, version)
    return StaticSummary(version, pages, items)


def _checked_base_url(base_url: str) -> str:
    """``base_url`` without a trailing slash: empty (links relative to the
    folder), or an http(s) URL with a host, as every link is made from it."""
    if not base_url:
        return ""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PublishError(f"the base URL must be http(s) with a host: {base_url!r}")
    if parts.query or parts.fragment:
        raise PublishError(f"the base URL must not have a query: {base_url!r}")
    return base_url.rstrip("/")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def _snapshot(factory: sessionmaker[Session]) -> Iterator[sessionmaker[Session]]:
    """Sessions that all read one state of the database, in one read-only
    transaction, so that the pages and every export agree even while a run
    publishes meanwhile (PostgreSQL: repeatable read; SQLite: one read
    transaction of its write-ahead log)."""
    engine = factory.kw.get("bind")
    if not isinstance(engine, Engine):
        yield factory
        return
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        connection.begin()
        if connection.dialect.name == "sqlite":
            # pysqlite opens no transaction for reads: open it here
            connection.exec_driver_sql("BEGIN")
        try:
            yield sessionmaker(bind=connection, expire_on_commit=False)
        finally:
            connection.rollback()


@contextmanager
def _publishing(out: Path) -> Iterator[None]:
    """One publisher in ``out``'s folder at a time (a lock on the folder, which
    the system drops with the process), which first removes what a publisher
    killed part way left: its unfinished folder, its link not yet swapped in."""
    handle = os.open(out.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        for folder in out.parent.glob(f"{out.name}.tmp-*"):
            if folder.is_dir() and not folder.is_symlink():
                shutil.rmtree(folder, ignore_errors=True)
        for link in out.parent.glob(f".{out.name}.link-*"):
            if link.is_symlink():
                link.unlink()
        yield
    finally:
        os.close(handle)


def safe_path(root: Path, *names: str) -> Path:
    """``root/names...`` when each name is a plain file name, else a PublishError."""
    for name in names:
        if not _SAFE_NAME.fullmatch(name) or ".." in name:
            raise PublishError(f"refusing to write outside {root}: {name!r}")
    path = root.joinpath(*names)
    if not path.resolve().is_relative_to(root.resolve()):
        raise PublishError(f"refusing to write outside {root}: {path}")
    return path


def _write_all(
    factory: sessionmaker[Session],
    root: Path,
    base_url: str,
    page_size: int,
    licence: str,
    previous: Path | None,
) -> tuple[int, int]:
    pages, items = _write_rpde(factory, root, base_url, page_size, licence, previous)
    for export in EXPORTS.values():
        with safe_path(root, export.filename).open("wb") as stream:
            for chunk in stream_export(factory, export, base_url, licence):
                stream.write(chunk)
    with factory() as session:
        _write_json(
            safe_path(root, "sources.json"), {"sources": list_source_reports(session)}
        )
    _write_json(safe_path(root, "index.json"), _index(base_url, pages, items, licence))
    return pages, items


START_PAGE = "start.json"
POSITIONS_FILE = "positions.json"
# how long a page URL keeps working after the last publish that gave it out
# (as a page's ``next``): as long as tombstones
KEEP_POSITIONS = timedelta(days=TOMBSTONE_DAYS)
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,60}")


@dataclass(frozen=True)
class _Boundary:
    """A position a page ends at, and the last publish that gave out its URL."""

    position: FeedPosition
    given: datetime

    @property
    def name(self) -> str:
        return position_page_name(self.position)

    def as_json(self) -> list[Any]:
        position = self.position
        return [
            to_micros(position.modified),
            position.opportunity_id,
            self.given.isoformat(),
        ]

    @classmethod
    def from_json(cls, entry: list[Any]) -> _Boundary:
        micros, opportunity_id, given = entry
        if not isinstance(micros, int) or not isinstance(opportunity_id, str):
            raise ValueError(f"not a position: {entry!r}")
        when = datetime.fromisoformat(given)
        if when.tzinfo is None:
            raise ValueError(f"a time without its zone: {given!r}")
        return cls(FeedPosition(from_micros(micros), opportunity_id), when)


def position_page_name(position: FeedPosition | None) -> str:
    """The page file of the items after ``position`` (None: the start). An id
    that is not a plain name (the hub's own always are) is named by its hash."""
    if position is None:
        return START_PAGE
    name = position.opportunity_id
    if not _SAFE_ID.fullmatch(name):
        name = "h" + hashlib.sha256(name.encode()).hexdigest()[:24]
    return f"after-{to_micros(position.modified)}-{name}.json"


def _page_url(base_url: str, name: str) -> str:
    return f"{base_url}/feed/{name}" if base_url else name


def _write_rpde(
    factory: sessionmaker[Session],
    root: Path,
    base_url: str,
    page_size: int,
    licence: str,
    previous: Path | None,
) -> tuple[int, int]:
    """The feed's pages: one file for the items after each page boundary.

    A reader holds the URL of the page after the last item it read, and may
    ask for it again after any later publish. So each boundary whose URL a
    publish within ``KEEP_POSITIONS`` gave out keeps its file (the boundaries
    are listed in ``positions.json``, read from ``previous``), and its page
    then holds what changed since: a change moves an item to the end. New
    boundaries go wherever more than ``page_size`` items would run between
    two. A page runs
    from its boundary to the next one with items before it, so no page but
    the last is empty. Returns the pages a reader following ``next`` from the
    start reads, and the items.
    """
    folder = safe_path(root, "feed")
    folder.mkdir()
    now = datetime.now(UTC)
    with factory() as session:
        boundaries, counts = _boundaries(
            list_feed_positions(session, "published"),
            _kept_boundaries(previous, now),
            page_size,
            now,
        )
        names = [b.name for b in boundaries]
        starts: list[FeedPosition | None] = [None, *(b.position for b in boundaries)]
        waiting: list[FeedPosition | None] = []
        given: set[str] = set()  # the URLs this publish gives out
        for number, count in enumerate(counts):
            waiting.append(starts[number])
            end = names[number] if number < len(names) else None
            if count == 0 and end is not None:
                continue  # nothing before the next boundary: its page serves
            for held in waiting:
                own = position_page_name(held)
                page = rpde_page(
                    session,
                    held,
                    count,
                    "published",
                    licence,
                    partial(_next_url, base_url, end or own),
                )
                safe_path(folder, own).write_bytes(page.body)
                given.add(end or own)
            waiting = []
    listed = [replace(b, given=now) if b.name in given else b for b in boundaries]
    _write_json(
        safe_path(folder, POSITIONS_FILE),
        {"positions": [b.as_json() for b in listed]},
    )
    return 1 + sum(1 for count in counts if count), sum(counts)


def _next_url(base_url: str, name: str, _last: FeedPosition | None) -> str:
    return _page_url(base_url, name)


def _boundaries(
    positions: Iterable[FeedPosition],
    kept: list[_Boundary],
    page_size: int,
    now: datetime,
) -> tuple[list[_Boundary], list[int]]:
    """The boundaries in order, and the count of items before each one (after
    the one before it), then after the last one (always none)."""
    boundaries: list[_Boundary] = []
    counts: list[int] = []
    ahead = iter(sorted(kept, key=lambda b: b.position))
    following = next(ahead, None)
    count = 0
    last: FeedPosition | None = None
    for position in positions:
        while following is not None and following.position < position:
            boundaries.append(following)
            counts.append(count)
            count, following = 0, next(ahead, None)
        count += 1
        last = position
        if following is not None and following.position == position:
            boundaries.append(following)
            counts.append(count)
            count, following = 0, next(ahead, None)
        elif count == page_size:
            boundaries.append(_Boundary(position, now))
            counts.append(count)
            count = 0
    if count and last is not None:
        boundaries.append(_Boundary(last, now))
        counts.append(count)
    while following is not None:  # kept boundaries beyond every item
        boundaries.append(following)
        counts.append(0)
        following = next(ahead, None)
    counts.append(0)
    return boundaries, counts


def _kept_boundaries(previous: Path | None, now: datetime) -> list[_Boundary]:
    """The boundaries ``previous`` published that are young enough to keep; a
    list that cannot be read is logged and none are kept (readers holding one
    of its positions will not find it, but the feed is whole)."""
    if previous is None:
        return []
    path = previous / "feed" / POSITIONS_FILE
    try:
        listed = json.loads(path.read_text(encoding="utf-8"))["positions"]
        kept = [_Boundary.from_json(entry) for entry in listed]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError, OverflowError) as exc:
        logger.warning("Not keeping the page positions of %s: %s", previous, exc)
        return []
    return [b for b in kept if now - b.given <= KEEP_POSITIONS]


def _index(base_url: str, pages: int, items: int, licence: str) -> dict[str, Any]:
    prefix = f"{base_url}/" if base_url else ""
    return {
        "generated": datetime.now(UTC).isoformat(),
        "license": licence,
        "feed": f"{prefix}feed/{START_PAGE}",
        "feed_pages": pages,
        "feed_items": items,
        "exports": {key: prefix + export.filename for key, export in EXPORTS.items()},
        "sources": f"{prefix}sources.json",
    }


def _write_json(path: Path, payload: Any) -> None:
    with path.open("w", encoding="utf-8") as stream:
        json.dump(payload, stream, ensure_ascii=False)


def _version_path(out: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return out.parent / f"{out.name}.v-{stamp}-{secrets.token_hex(3)}"


def _swap_link(out: Path, version: Path) -> str | None:
    previous = os.readlink(out) if out.is_symlink() else None
    link = out.parent / f".{out.name}.link-{secrets.token_hex(4)}"
    os.symlink(version.name, link)
    os.replace(link, out)
    return previous


def _remove_old_versions(out: Path, keep: set[str | None]) -> None:
    for folder in out.parent.glob(f"{out.name}.v-*"):
        if folder.name not in keep and folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)
