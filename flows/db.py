"""One engine per database URL for the flows of a process, disposed together."""

from __future__ import annotations

import threading

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.session import make_engine, session_factory

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def engine_for(database_url: str) -> Engine:
    with _lock:
        if database_url not in _engines:
            _engines[database_url] = make_engine(database_url)
        return _engines[database_url]


def factory_for(database_url: str) -> sessionmaker[Session]:
    return session_factory(engine_for(database_url))


def dispose_engines() -> None:
    """Close every pooled connection (at a test's end, say)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
