"""`scrapy list` and `scrapy check` in the project, as an operator runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PLATFORM_SPIDERS = [
    "ashby",
    "declarative",
    "find_an_apprenticeship",
    "greenhouse",
    "ical_feed",
    "lever",
    "rss_feed",
    "schema_org",
    "smartrecruiters",
    "workable",
]
# callbacks whose contracts fetch a page held in the shared recording
CONTRACTED = ["ashby", "greenhouse", "lever", "schema_org"]


def scrapy(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "scrapy", *args]
    return subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=300
    )


def test_scrapy_list_names_every_platform_spider():
    result = scrapy("list")

    assert result.returncode == 0, result.stderr[-2000:]
    assert set(PLATFORM_SPIDERS) <= set(result.stdout.split())


def test_scrapy_check_lists_the_contracted_callbacks():
    result = scrapy("check", "--list", *PLATFORM_SPIDERS)

    assert result.returncode == 0, result.stderr[-2000:]
    assert [line for line in result.stdout.split() if line != "*"] == [
        name for spider in CONTRACTED for name in (spider, "parse")
    ]


@pytest.mark.recording
def test_scrapy_check_passes_on_the_recording(recording):
    result = scrapy("check", "-s", f"HUB_REPLAY={recording}", *PLATFORM_SPIDERS)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "Ran 12 contracts" in result.stderr
    assert result.stderr.rstrip().endswith("OK")
