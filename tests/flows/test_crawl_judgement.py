from __future__ import annotations

import pytest

from flows.crawl import NOT_RECORDED_STAT, describe_failure, judge

FINISHED = {"finish_reason": "finished", "downloader/response_count": 3}


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


def test_a_failed_live_crawl_names_what_went_wrong():
    stats = {
        "finish_reason": "finished",
        "downloader/exception_type_count/twisted.internet.error.DNSLookupError": 4,
    }

    assert judge(stats, None) == "failed"
    assert describe_failure(stats, "failed") == "could not fetch: DNSLookupError"
