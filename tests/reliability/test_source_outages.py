"""Source outages on 127.0.0.1 through the real refresh flow, over three runs.

Every case is a source of its own (see :mod:`tests.reliability.outages`): two
good runs, three outage runs, a good run again, every stage real (crawl
children, health ledger, expiry, matching, publishing). No listing may be
marked gone or closed by an outage, the ledger and the run report must name
each case for what it is, and the good run after must find everything again.
The fast tests above the trial pin the words on stats of each kind.
"""

from __future__ import annotations

import io

import pytest
from twisted.internet.error import DNSLookupError

from flows.crawl import TRANSIENT_ERRORS, describe_failure, judge, source_status
from flows.report import SourceReport, alerts_for, summary_markdown
from storage.health import RunFigures, judge_run
from tests.reliability.outages import (
    CASES,
    CONTROL,
    UNRESOLVABLE,
    Case,
    TableResolver,
    Trial,
    case_problems,
    control_problems,
    expected_words,
    run_trial,
    trial_figures,
    unjudged_runs,
)

SEED = 20261204
OUTAGE_RUNS = 3
FINISHED = {"finish_reason": "finished", "downloader/response_count": 2}
EXCEPTIONS = "downloader/exception_type_count/"
IGNORED = "httperror/response_ignored_status_count/"


# --- the words for each kind of outage, on the stats a crawl leaves -----------


@pytest.mark.parametrize(
    ("stats", "status", "reason", "words"),
    [
        pytest.param(
            {
                "finish_reason": "finished",
                "downloader/exception_count": 4,
                f"{EXCEPTIONS}scrapy.exceptions.DownloadTimeoutError": 4,
            },
            "failed",
            "fetch_failed",
            "timed out (DownloadTimeoutError: 4)",
            id="every request timed out",
        ),
        pytest.param(
            {
                "finish_reason": "finished",
                "downloader/exception_count": 4,
                f"{EXCEPTIONS}scrapy.exceptions.CannotResolveHostError": 4,
            },
            "failed",
            "fetch_failed",
            "could not resolve host (CannotResolveHostError: 4)",
            id="the host name does not resolve",
        ),
        pytest.param(
            {
                "finish_reason": "finished",
                "downloader/exception_count": 3,
                f"{EXCEPTIONS}scrapy.exceptions.DownloadConnectionRefusedError": 2,
                f"{EXCEPTIONS}scrapy.exceptions.DownloadTimeoutError": 1,
            },
            "failed",
            "fetch_failed",
            "could not connect (DownloadConnectionRefusedError: 2, "
            "DownloadTimeoutError: 1)",
            id="mostly refused: the commonest kind names it",
        ),
        pytest.param(
            {
                **FINISHED,
                "downloader/response_count": 9,
                "downloader/response_status_count/200": 1,
                "downloader/response_status_count/500": 16,
                "httperror/response_ignored_count": 8,
                f"{IGNORED}500": 8,
            },
            "failed",
            "fetch_failed",
            "HTTP 500: 8 error responses (200: 1, 500: 16)",
            id="every posting answered 500",
        ),
        pytest.param(
            {
                **FINISHED,
                "robotstxt/unavailable": 1,
                "robotstxt/response_status_count/503": 1,
                "downloader/response_status_count/503": 2,
            },
            "failed",
            "robots_unavailable",
            "robots.txt unavailable (HTTP 503): nothing fetched, retried next run "
            "(503: 2)",
            id="the whole site answered 503",
        ),
        pytest.param(
            {
                **FINISHED,
                "downloader/response_status_count/429": 4,
                "httperror/response_ignored_count": 1,
                f"{IGNORED}429": 1,
                "retry/count": 2,
            },
            "partial",
            "rate_limited",
            "rate limited: 1 requests still answered 429 after every retry "
            "(429: 4; 2 retries)",
            id="a 429 storm outlasting every retry",
        ),
        pytest.param(
            {
                **FINISHED,
                "downloader/response_status_count/429": 1,
                "retry_after/deferred": 1,
                "retry_after/rescheduled": 1,
            },
            "partial",
            "rate_limited",
            "rate limited: 1 requests left for the next run (429: 1; 0 retries)",
            id="a Retry-After beyond the cap",
        ),
        pytest.param(
            {**FINISHED, "downloader/response_count": 9},
            "partial",
            "no_listings",
            "empty: 0 listings found in 9 responses",
            id="pages with no listing on them",
        ),
    ],
)
def test_each_outage_has_its_own_words(stats, status, reason, words):
    assert source_status(stats, None) == reason
    assert judge(stats, None) == status
    assert describe_failure(stats, status) == words


@pytest.mark.parametrize(
    "error",
    [
        "timed out (DownloadTimeoutError: 4)",
        "timed out after 1800 s",
        "could not resolve host (DNSLookupError: 2)",
        "could not connect (DownloadConnectionRefusedError: 2)",
        "crawl process exited with 1: no error output",
    ],
)
def test_a_fetch_failure_that_may_pass_is_tried_again(error):
    assert error.startswith(TRANSIENT_ERRORS)


def test_http_errors_and_empty_pages_are_not_tried_again_at_once():
    for error in ("HTTP 500: 8 error responses (500: 16)", "empty: 0 listings found"):
        assert not error.startswith(TRANSIENT_ERRORS)


GOOD = [
    RunFigures(run_id=n, status="ok", listings=12, drops={}, coverage={})
    for n in range(5)
]


def test_half_the_usual_listings_is_a_fall_by_half():
    half = RunFigures(run_id=9, status="ok", listings=6, drops={}, coverage={})

    verdict = judge_run(half, GOOD)

    assert verdict.verdict == "suspicious"
    assert verdict.reasons == ["found 6 listings against a median of 12"]


def test_a_failed_run_keeps_the_crawls_own_words_in_the_ledger():
    error = "could not resolve host (CannotResolveHostError: 4)"
    failed = RunFigures(9, "failed", 0, {}, {}, error=error)
    limited = RunFigures(9, "partial", 0, {}, {}, error="rate limited: 1 left")

    assert judge_run(failed, GOOD).reasons == [error]
    assert judge_run(limited, GOOD).reasons == [
        "rate limited: 1 left",
        "found no listings",
    ]


def test_the_report_names_the_crawls_words_once():
    error = "timed out (DownloadTimeoutError: 4)"
    report = SourceReport(
        "hang", "failed", "failed", 0, 0, 0, 0, 0, 0, 0, [error], error
    )

    markdown = summary_markdown([report], "")
    (alert,) = alerts_for([report])

    assert markdown.count(error) == 1
    assert alert.detail == error


def test_the_resolver_knows_only_its_table():
    resolver = TableResolver(None, {UNRESOLVABLE: "127.0.0.1"})
    answers: list[object] = []

    for name in (UNRESOLVABLE, "127.0.0.1", "www.example.org"):
        resolver.getHostByName(name).addBoth(answers.append)

    assert answers[:2] == ["127.0.0.1", "127.0.0.1"]
    assert answers[2].check(DNSLookupError)


# --- the trial: real servers, real crawls, the real flow ----------------------


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory) -> Trial:
    return run_trial(tmp_path_factory.mktemp("outages"), SEED, OUTAGE_RUNS)


def _case(mode: str) -> pytest.param:
    return pytest.param(next(c for c in CASES if c.mode == mode), id=mode)


@pytest.mark.slow
@pytest.mark.parametrize("case", [_case(c.mode) for c in CASES])
def test_no_listing_lost_and_each_outage_named_for_what_it_is(
    trial: Trial, case: Case
) -> None:
    runs = [r for r in trial.runs if r.source == case.mode]

    assert [r.phase for r in runs] == ["good"] * 2 + ["outage"] * 3 + ["back"]
    assert case_problems(trial, case) == []


@pytest.mark.slow
def test_a_posting_that_really_left_is_still_marked_gone(trial: Trial) -> None:
    runs = [r for r in trial.runs if r.source == CONTROL.mode]

    assert control_problems(trial) == []
    assert [r.gone for r in runs] == [0, 0, 0, 1, 0, 0]


@pytest.mark.slow
def test_every_try_of_every_run_is_judged_in_the_ledger(trial: Trial) -> None:
    """The flow tries a timed-out or unresolvable crawl again; each try is a
    crawl run of its own and is judged, not left without a verdict."""
    assert unjudged_runs(trial.database_url) == []


@pytest.mark.slow
def test_the_run_report_names_every_outage(trial: Trial) -> None:
    outages = [markdown for phase, markdown in trial.summaries if phase == "outage"]

    assert len(outages) == OUTAGE_RUNS
    for markdown in outages:
        for case in CASES:
            assert f"**{case.mode}** ({case.verdict})" in markdown
            assert expected_words(trial, case) in markdown


@pytest.mark.slow
def test_hub_run_prints_every_outage_for_what_it_is(
    trial: Trial, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    from hub import cli

    printed = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=printed, width=400))
    phase, report = trial.reports[-2]

    cli._print_report(report)

    lines = printed.getvalue().splitlines()
    assert phase == "outage"
    for case in CASES:
        said = [line for line in lines if line.startswith(f"{case.mode}: ")]
        assert any(expected_words(trial, case) in line for line in said), case.mode


@pytest.mark.slow
def test_the_figures_for_the_benchmark(trial: Trial) -> None:
    figures = trial_figures(trial)

    assert figures["tried"] == len(CASES) * OUTAGE_RUNS
    assert figures["survived"] == figures["tried"]
    assert figures["lost"] == []
    assert any(
        note.startswith("hang: failed/failed: timed out") for note in figures["notes"]
    )
