"""Configuration from the environment, read in one place, with defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE = "sqlite:///data/hub.sqlite"


@dataclass(frozen=True)
class Config:
    database_url: str
    registry: Path
    data_dir: Path
    geo_dir: str | None
    crawl_timeout_seconds: int
    max_parallel_crawls: int

    @classmethod
    def from_env(cls) -> Config:
        data_dir = Path(os.getenv("HUB_DATA_DIR", "data"))
        return cls(
            database_url=os.getenv("HUB_DATABASE_URL", DEFAULT_DATABASE),
            registry=Path(os.getenv("HUB_REGISTRY", "sources.toml")),
            data_dir=data_dir,
            geo_dir=os.getenv("HUB_GEO_DIR") or None,
            crawl_timeout_seconds=int(os.getenv("HUB_CRAWL_TIMEOUT", "1800")),
            max_parallel_crawls=int(os.getenv("HUB_MAX_PARALLEL_CRAWLS", "2")),
        )


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
