"""One source's crawl in this process: ``python -m hub.crawl REQUEST.json``.

The Twisted reactor cannot restart in one process, so the crawl flow runs each
crawl as a child process started here, and reads the crawl's stats back from
the JSON file the child writes at the end.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings
from twisted.python.failure import Failure

from hub.exceptions import CrawlError
from pipelines.store import to_jsonable

# the parent shows the line after this mark as the crawl's error
ERROR_MARK = "crawl error: "


@dataclass
class CrawlRequest:
    """Everything the child needs; written as JSON by the parent."""

    spider: str
    source: str
    source_id: int
    run_id: int
    database_url: str
    stats_path: str
    args: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> CrawlRequest:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def crawl(request: CrawlRequest) -> dict[str, Any]:
    """Run the crawl to its end and return its stats."""
    settings = get_project_settings()
    settings.setdict(
        {
            **request.settings,
            "HUB_DATABASE_URL": request.database_url,
            "HUB_RUN_ID": request.run_id,
            "HUB_SOURCE_ID": request.source_id,
        },
        priority="cmdline",
    )
    process = CrawlerProcess(settings, install_root_handler=True)
    crawler = process.create_crawler(request.spider)
    failures: list[Failure] = []
    process.crawl(crawler, source=request.source, **request.args).addErrback(
        failures.append
    )
    process.start()
    if failures:
        # the crawl never ran: a bad argument, an unreadable recording, ...
        raise CrawlError(_first_line(failures[0]))
    stats = to_jsonable(crawler.stats.get_stats())
    stats["spider_errors"] = stats.get("log_count/ERROR", 0)
    return stats


def _first_line(failure: Failure) -> str:
    return f"{failure.type.__name__}: {failure.getErrorMessage()}"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m hub.crawl REQUEST.json\n")
        return 2
    request = CrawlRequest.read(Path(argv[0]))
    try:
        stats = crawl(request)
    except CrawlError as exc:
        sys.stderr.write(f"{ERROR_MARK}{exc}\n")
        return 1
    Path(request.stats_path).write_text(json.dumps(stats), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
