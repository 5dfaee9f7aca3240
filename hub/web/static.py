"""The feed as static files, swapped in atomically.

``write_static(factory, out)`` writes RPDE pages (``feed/page-000000.json`` ...),
every export, ``sources.json`` and ``index.json`` into a new sibling folder
``<out>.tmp-XXXX``, renames it to ``<out>.v-<stamp>-XXXX`` and then points the
symbolic link ``<out>`` at it with one ``rename``: a reader sees the old feed
or the new one, never half of one. The version before stays on disk (a reader
part way through it can finish); older ones are removed. Every file is read
from one snapshot of the database, so they agree item for item. One publisher
writes beside ``<out>`` at a time (a lock on its folder), and it first removes
the unfinished folder of any publisher that was killed part way.

File names are made here from counters and fixed names, never from the data,
and every path is checked to stay inside the folder being written.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hub.exceptions import HubError
from hub.web.context import FEED_LICENCE
from hub.web.exports import EXPORTS, stream_export
from hub.web.rpde import MAX_RPDE_PAGE, rpde_page
from hub.web.sources import list_source_reports
from storage.feed import FeedPosition

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
                    snapshot, tmp, base_url.rstrip("/"), page_size, licence
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
) -> tuple[int, int]:
    pages, items = _write_rpde(factory, root, base_url, page_size, licence)
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


def _page_name(number: int) -> str:
    return f"page-{number:06d}.json"


def _page_url(base_url: str, number: int) -> str:
    name = _page_name(number)
    return f"{base_url}/feed/{name}" if base_url else name


def _write_rpde(
    factory: sessionmaker[Session],
    root: Path,
    base_url: str,
    page_size: int,
    licence: str,
) -> tuple[int, int]:
    safe_path(root, "feed").mkdir()
    number, items, after = 0, 0, None
    with factory() as session:
        while True:
            page = rpde_page(
                session,
                after,
                page_size,
                "published",
                licence,
                partial(_next_page_url, base_url, number),
            )
            path = safe_path(root, "feed", _page_name(number))
            path.write_text(page.body, encoding="utf-8")
            items += page.count
            number += 1
            if page.last is None:
                return number, items
            after = page.last


def _next_page_url(base_url: str, number: int, found: FeedPosition | None) -> str:
    return _page_url(base_url, number + 1 if found else number)


def _index(base_url: str, pages: int, items: int, licence: str) -> dict[str, Any]:
    prefix = f"{base_url}/" if base_url else ""
    return {
        "generated": datetime.now(UTC).isoformat(),
        "license": licence,
        "feed": f"{prefix}feed/{_page_name(0)}",
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
