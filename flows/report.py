"""What each refresh leaves behind: per-source rows, Prefect artifacts, alerts."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.alerts import Alert
from flows.crawl import CrawlOutcome
from storage.health import drops_by_reason

ALARMING = frozenset({"failed", "suspicious"})


@dataclass(frozen=True)
class SourceReport:
    source: str
    status: str
    verdict: str
    new: int
    updated: int
    unchanged: int
    closed: int
    gone: int
    dropped: int
    flagged: int
    reasons: list[str] = field(default_factory=list)
    error: str | None = None


def source_reports(
    crawls: Sequence[CrawlOutcome],
    verdicts: Mapping[str, tuple[str, list[str]]],
    closed: Mapping[str, int],
    gone: Mapping[str, int],
    flagged: Mapping[str, int],
) -> list[SourceReport]:
    return [
        SourceReport(
            source=c.source,
            status=c.status,
            verdict=verdicts.get(c.source, (c.status, []))[0],
            new=int(c.stats.get("store/new", 0)),
            updated=int(c.stats.get("store/updated", 0)),
            unchanged=int(c.stats.get("store/unchanged", 0)),
            closed=closed.get(c.source, 0),
            gone=gone.get(c.source, 0),
            dropped=sum(drops_by_reason(c.stats).values()),
            flagged=flagged.get(c.source, 0),
            reasons=verdicts.get(c.source, ("", []))[1],
            error=c.error,
        )
        for c in crawls
    ]


def alerts_for(reports: Sequence[SourceReport]) -> list[Alert]:
    """One alert per failing or suspicious source."""
    return [
        Alert(
            kind=f"source-{r.verdict}",
            subject=f"{r.source}: {r.verdict}",
            detail=_why(r) if r.error or r.reasons else r.verdict,
            facts={"source": r.source, "status": r.status, "verdict": r.verdict},
        )
        for r in reports
        if r.verdict in ALARMING
    ]


def artifact_key(source: str) -> str:
    return "crawl-" + re.sub(r"[^a-z0-9]+", "-", source.lower()).strip("-")


def write_artifacts(reports: Sequence[SourceReport], summary: str) -> None:
    """A table artifact per source and one markdown summary of the refresh."""
    for report in reports:
        row = {k: v for k, v in asdict(report).items() if k not in ("reasons",)}
        row["reasons"] = "; ".join(report.reasons)
        create_table_artifact(
            table=[row],
            key=artifact_key(report.source),
            description=f"Crawl of {report.source}: {report.verdict}",
        )
    create_markdown_artifact(
        markdown=summary_markdown(reports, summary),
        key="refresh-summary",
        description="What the refresh crawled, expired, matched and published",
    )


def summary_markdown(reports: Sequence[SourceReport], summary: str) -> str:
    lines = [
        "# Refresh",
        "",
        summary,
        "",
        "| source | verdict | new | updated | unchanged | closed | gone | dropped "
        "| flagged |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in reports:
        lines.append(
            f"| {r.source} | {r.verdict} | {r.new} | {r.updated} | {r.unchanged} "
            f"| {r.closed} | {r.gone} | {r.dropped} | {r.flagged} |"
        )
    troubles = [r for r in reports if r.verdict in ALARMING]
    if troubles:
        lines += ["", "## Needs a look", ""]
        lines += [f"- **{r.source}** ({r.verdict}): " + _why(r) for r in troubles]
    return "\n".join(lines) + "\n"


def _why(report: SourceReport) -> str:
    """The crawl's error and the health reasons, each once (the ledger repeats
    the crawl's error among its reasons)."""
    phrases = dict.fromkeys(filter(None, [report.error, *report.reasons]))
    return "; ".join(phrases) or "no detail"
