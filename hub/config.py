"""Configuration from the environment, read in one place, with defaults."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from hub.exceptions import ConfigurationError

if TYPE_CHECKING:
    from sqlalchemy import Engine

N = TypeVar("N", int, float)
DEFAULT_DATABASE = "sqlite:///data/hub.sqlite"
# the longest a server worker may trust the feed's change number it last read
MAX_VERSION_SECONDS = 60.0


@dataclass(frozen=True)
class Config:
    database_url: str
    registry: Path
    data_dir: Path
    geo_dir: str | None
    crawl_timeout_seconds: int
    max_parallel_crawls: int
    answer_cache_mb: int = 64
    # how long a server worker trusts the feed's change number it last read
    feed_version_seconds: float = 1.0

    @classmethod
    def from_env(cls) -> Config:
        data_dir = Path(os.getenv("HUB_DATA_DIR", "data"))
        return cls(
            database_url=os.getenv("HUB_DATABASE_URL", DEFAULT_DATABASE),
            registry=Path(os.getenv("HUB_REGISTRY", "sources.toml")),
            data_dir=data_dir,
            geo_dir=os.getenv("HUB_GEO_DIR") or None,
            crawl_timeout_seconds=_positive_int("HUB_CRAWL_TIMEOUT", 1800),
            max_parallel_crawls=_positive_int("HUB_MAX_PARALLEL_CRAWLS", 2),
            answer_cache_mb=_whole_number("HUB_ANSWER_CACHE_MB", 64, minimum=0),
            feed_version_seconds=_seconds("HUB_FEED_VERSION_SECONDS", 1.0),
        )


def _positive_int(name: str, default: int) -> int:
    return _whole_number(name, default, minimum=1)


def _whole_number(name: str, default: int, minimum: int) -> int:
    return _setting(
        name,
        default,
        int,
        lambda n: n >= minimum,
        f"a whole number of at least {minimum}",
    )


def _seconds(name: str, default: float) -> float:
    return _setting(
        name,
        default,
        float,
        lambda s: 0 <= s <= MAX_VERSION_SECONDS,
        f"a number of seconds from 0 to {MAX_VERSION_SECONDS:g}",
    )


def _setting(
    name: str,
    default: N,
    parse: Callable[[str], N],
    allowed: Callable[[N], bool],
    expected: str,
) -> N:
    """The variable ``name`` read with ``parse``, or ``default`` when unset;
    a value that does not parse, or is not allowed, is a clear error."""
    value = os.getenv(name)
    if value is None or value == "":
        return default
    try:
        parsed = parse(value)
    except ValueError:
        parsed = None
    if parsed is None or not allowed(parsed):
        raise ConfigurationError(f"{name} must be {expected}, got {value!r}")
    return parsed


def prepare_prefect(data_dir: Path) -> None:
    """Ephemeral Prefect (no server) kept inside the data folder, and quiet.

    Must run before Prefect is imported. Settings the operator set win.
    """
    home = (data_dir / "prefect").resolve()
    defaults = {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_API_ENABLE_HTTP2": "false",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    home.mkdir(parents=True, exist_ok=True)


def existing_database(url: str) -> Engine:
    """An engine for ``url`` once the hub has written its tables there; else a
    ConfigurationError saying how to get them (a command that reads never
    creates a database)."""
    from storage.session import SchemaMissing, make_engine, require_schema

    engine = make_engine(url)
    try:
        require_schema(engine)
    except SchemaMissing as exc:
        engine.dispose()
        raise ConfigurationError(
            f"{exc}: run `hub run` first, or set HUB_DATABASE_URL"
        ) from None
    return engine
