from __future__ import annotations

import pytest

from flows.crawl import (
    NOT_RECORDED_STAT,
    describe_failure,
    judge,
    run_warnings,
    source_status,
)

FINISHED = {
    "finish_reason": "finished",
    "downloader/response_count": 3,
    "item_scraped_count": 2,
}
COVERED = {
    "coverage/items": 10,
    "coverage/title": 10,
    "coverage/provider_name": 10,
    "coverage/url": 10,
    "coverage/closing_date": 10,
}
GUARD_STAT = "downloader/exception_type_count/spiders.middlewares.PrivateAddress"


@pytest.mark.parametrize(
    ("stats", "error", "expected"),
    [
        pytest.param(FINISHED, None, "ok", id="a clean crawl"),
        pytest.param({}, "crawl process exited with 1", "failed", id="child failed"),
        pytest.param(
            {**FINISHED, "downloader/response_count": 0},
            None,
            "failed",
            id="no response at all",
        ),
        pytest.param(
            {**FINISHED, "replay/not_recorded": 2, "downloader/exception_count": 2},
            None,
            "partial",
            id="pages missing from the recording",
        ),
        pytest.param(
            {
                **FINISHED,
                "replay/robots_not_recorded": 1,
                "downloader/exception_count": 1,
                NOT_RECORDED_STAT: 1,
            },
            None,
            "ok",
            id="only robots.txt missing from the recording",
        ),
        pytest.param(
            {**FINISHED, "downloader/exception_count": 1},
            None,
            "partial",
            id="a live fetch error",
        ),
        pytest.param(
            {**FINISHED, "finish_reason": "closespider_errorcount"},
            None,
            "failed",
            id="stopped by errors",
        ),
    ],
)
def test_judge(stats, error, expected):
    assert judge(stats, error) == expected


@pytest.mark.parametrize(
    ("stats", "status", "reason"),
    [
        pytest.param({**FINISHED, **COVERED}, "ok", "ok", id="all fields covered"),
        pytest.param(
            {**FINISHED, **COVERED, "coverage/provider_name": 8},
            "failed",
            "coverage_low",
            id="provider on 80% of listings",
        ),
        pytest.param(
            {**FINISHED, **COVERED, "coverage/provider_name": 9},
            "ok",
            "ok",
            id="provider on exactly 90% passes",
        ),
        pytest.param(
            {**FINISHED, **COVERED, "coverage/closing_date": 1},
            "ok",
            "ok",
            id="closing date not required by default",
        ),
        pytest.param(
            {
                **FINISHED,
                **COVERED,
                "coverage/closing_date": 1,
                "coverage/required": ["title", "provider_name", "url", "closing_date"],
            },
            "failed",
            "coverage_low",
            id="closing date required by the source",
        ),
        pytest.param(
            {**FINISHED, "item_scraped_count": 0},
            "partial",
            "no_listings",
            id="a clean run with no listing is not trusted",
        ),
        pytest.param(
            {
                **FINISHED,
                "item_scraped_count": 0,
                "robotstxt/unavailable": 1,
                "downloader/response_status_count/503": 4,
            },
            "failed",
            "robots_unavailable",
            id="robots.txt 503",
        ),
        pytest.param(
            {
                **FINISHED,
                "item_scraped_count": 0,
                "robotstxt/forbidden": 3,
                "downloader/exception_count": 3,
                "downloader/exception_type_count/scrapy.exceptions.IgnoreRequest": 3,
            },
            "failed",
            "blocked_by_robots",
            id="everything forbidden by robots.txt",
        ),
        pytest.param(
            {
                **FINISHED,
                "robotstxt/forbidden": 2,
                "downloader/exception_count": 2,
                "downloader/exception_type_count/scrapy.exceptions.IgnoreRequest": 2,
            },
            "ok",
            "ok",
            id="some links forbidden by robots.txt",
        ),
        pytest.param(
            {**FINISHED, "downloader/exception_count": 1, GUARD_STAT: 1},
            "ok",
            "ok",
            id="a redirect refused by the guard is no fetch error",
        ),
        pytest.param(
            {
                **FINISHED,
                "item_scraped_count": 0,
                "retry_after/rescheduled": 1,
                "httperror/response_ignored_count": 1,
            },
            "partial",
            "rate_limited",
            id="a Retry-After beyond the cap",
        ),
        pytest.param(
            {
                "finish_reason": "finished",
                "downloader/exception_count": 4,
                "downloader/exception_type_count/scrapy.exceptions."
                "CannotResolveHostError": 4,
            },
            "failed",
            "fetch_failed",
            id="DNS fails for every request",
        ),
        pytest.param(
            {
                **FINISHED,
                "dropped/response_too_large": 1,
                "downloader/exception_count": 1,
            },
            "partial",
            "incomplete",
            id="a page too large to keep",
        ),
    ],
)
def test_source_status(stats, status, reason):
    assert source_status(stats, None) == reason
    assert judge(stats, None) == status


@pytest.mark.parametrize(
    ("stats", "status", "text"),
    [
        pytest.param(
            {**FINISHED, **COVERED, "coverage/title": 5},
            "failed",
            "too few listings have a required field: title on 50% of 10 listings "
            "(needs 90%)",
            id="coverage",
        ),
        pytest.param(
            {**FINISHED, "item_scraped_count": 0, "robotstxt/forbidden": 4},
            "failed",
            "blocked by robots.txt: 4 requests forbidden, 0 listings",
            id="robots",
        ),
        pytest.param(
            {**FINISHED, "item_scraped_count": 0},
            "partial",
            "empty: 0 listings found in 3 responses",
            id="nothing found",
        ),
        pytest.param({**FINISHED}, "ok", None, id="ok needs no words"),
    ],
)
def test_describe_failure(stats, status, text):
    assert describe_failure(stats, status) == text


def test_warnings_name_what_looked_odd():
    stats = {**FINISHED, "robotstxt/not_text": 1, "redirect/to_same_url": 2}

    assert run_warnings(stats) == ["robots_not_text", "redirect_to_same_url"]


def test_a_failed_live_crawl_names_what_went_wrong():
    stats = {
        "finish_reason": "finished",
        "downloader/exception_type_count/twisted.internet.error.DNSLookupError": 4,
    }

    assert judge(stats, None) == "failed"
    expected = "could not resolve host (DNSLookupError: 4)"
    assert describe_failure(stats, "failed") == expected


def test_a_source_without_its_key_is_not_configured_rather_than_failed():
    stats = {"finish_reason": "not_configured", "source/not_configured": 1}

    assert judge(stats, None) == "not_configured"


def test_the_childs_own_error_line_is_shown():
    from flows.crawl import child_error

    stderr = (
        "Traceback ...\n  File x\ncrawl error: ValueError: greenhouse needs a board\n"
    )

    assert child_error(stderr) == "ValueError: greenhouse needs a board"
    assert child_error("a\nlast words\n") == "last words"
