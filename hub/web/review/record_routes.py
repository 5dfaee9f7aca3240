"""Clusters (and splitting one listing out), the audit log, export and import
of decisions, and the accuracy panel."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hub.web.review.accuracy import accuracy_by_band
from hub.web.review.context import Admin, Review, ReviewContext, Signed, render
from hub.web.review.decisions import split_out
from hub.web.review.security import NotFound, ReviewRoute
from hub.web.review.transfer import (
    ImportSummary,
    TransferError,
    export_decisions,
    import_decisions,
)
from storage.models import (
    Decision,
    Listing,
    Opportunity,
    OpportunityMember,
    Source,
    utcnow,
)
from storage.models_review import DecisionEvidence
from storage.repository import get_opportunity
from storage.session import transaction

router = APIRouter(route_class=ReviewRoute, include_in_schema=False)
CLUSTERS_SHOWN = 100
AUDIT_PAGE = 100
MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_NOTE = 2000


@router.get("/review/clusters")
def clusters_page(request: Request, review: Review, active: Signed) -> Response:
    size = func.count(OpportunityMember.listing_id)
    query = (
        select(Opportunity, size)
        .join(OpportunityMember)
        .group_by(Opportunity.id)
        .having(size > 1)
        .order_by(size.desc(), Opportunity.id)
        .limit(CLUSTERS_SHOWN)
    )
    with review.factory() as session:
        rows = list(session.execute(query).tuples())
    return render(request, "clusters.html", {"rows": rows})


def _cluster(session: Session, opportunity_id: str) -> Opportunity:
    opportunity = get_opportunity(session, opportunity_id)
    if opportunity is None:
        raise NotFound(f"no opportunity {opportunity_id!r}")
    return opportunity


@router.get("/review/clusters/{opportunity_id}")
def cluster_page(
    request: Request,
    review: Review,
    active: Signed,
    opportunity_id: str,
    split: int | None = None,
) -> Response:
    with review.factory() as session:
        opportunity = _cluster(session, opportunity_id)
        members = sorted(
            (m.listing for m in opportunity.members), key=lambda item: item.id
        )
        values = {"opportunity": opportunity, "members": members, "split": split}
        return render(request, "cluster.html", values)


@router.post("/review/clusters/{opportunity_id}/split")
def split(
    review: Review,
    active: Signed,
    opportunity_id: str,
    listing_id: Annotated[int, Form()],
    note: Annotated[str, Form(max_length=MAX_NOTE)] = "",
) -> Response:
    reviewer = active.reviewer.name if active.reviewer else ""
    with transaction(review.factory) as session:
        member = session.get(OpportunityMember, listing_id)
        if member is None or member.opportunity_id != opportunity_id:
            raise NotFound(f"listing {listing_id} is not in {opportunity_id!r}")
        pairs = split_out(session, listing_id, reviewer, note.strip() or None)
    if pairs:
        review.reclusterer.request()
    target = f"/review/clusters/{opportunity_id}?split={listing_id}"
    return RedirectResponse(target, status_code=303)


@router.get("/review/audit")
def audit_page(
    request: Request,
    review: Review,
    active: Signed,
    page: int = 0,
    imported: int | None = None,
    present: int | None = None,
    unknown: int | None = None,
    undone: int | None = None,
) -> Response:
    page = max(page, 0)
    with review.factory() as session:
        rows = _audit_rows(session, page)
        total = session.scalar(select(func.count()).select_from(Decision)) or 0
    values = {
        "rows": rows,
        "page": page,
        "pages": max(1, -(-total // AUDIT_PAGE)),
        "total": total,
        "result": (imported, present, unknown) if imported is not None else None,
        "undone": undone,
    }
    return render(request, "audit.html", values)


def _audit_rows(session: Session, page: int) -> list[dict[str, Any]]:
    query = (
        select(Decision, DecisionEvidence)
        .outerjoin(DecisionEvidence, DecisionEvidence.decision_id == Decision.id)
        .order_by(Decision.at.desc(), Decision.id.desc())
        .offset(page * AUDIT_PAGE)
        .limit(AUDIT_PAGE)
    )
    found = list(session.execute(query).tuples())
    ids = {i for d, _ in found for i in (d.listing_a, d.listing_b)}
    names = _listing_names(session, ids)
    return [
        {"decision": d, "evidence": e, "a": names[d.listing_a], "b": names[d.listing_b]}
        for d, e in found
    ]


def _listing_names(session: Session, ids: set[int]) -> dict[int, tuple[str, ...]]:
    if not ids:
        return {}
    query = (
        select(Listing.id, Source.name, Listing.source_key, Listing.title)
        .join(Source)
        .where(Listing.id.in_(ids))
    )
    return {row[0]: tuple(row[1:]) for row in session.execute(query)}


@router.get("/review/decisions.json")
def export_file(review: Review, active: Signed) -> Response:
    with review.factory() as session:
        document = export_decisions(session)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return Response(
        json.dumps(document, ensure_ascii=False, indent=1),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="decisions-{stamp}.json"'
        },
    )


@router.post("/review/decisions/import")
async def import_file(
    request: Request,
    review: Review,
    active: Admin,
    file: Annotated[UploadFile, File()],
) -> Response:
    content = await file.read(MAX_IMPORT_BYTES + 1)
    if len(content) > MAX_IMPORT_BYTES:
        return _import_failed(request, "the file is larger than 20 MB")
    try:
        document = json.loads(content)
        summary = await _run_import(review, document)
    except (ValueError, TransferError) as exc:
        return _import_failed(request, str(exc))
    if summary.added:
        review.reclusterer.request()
    target = (
        f"/review/audit?imported={summary.added}"
        f"&present={summary.already_present}&unknown={summary.unknown_listings}"
    )
    return RedirectResponse(target, status_code=303)


async def _run_import(review: ReviewContext, document: Any) -> ImportSummary:
    def work() -> ImportSummary:
        with transaction(review.factory) as session:
            return import_decisions(session, document)

    return await run_in_threadpool(work)


def _import_failed(request: Request, message: str) -> Response:
    return render(request, "import_failed.html", {"message": message}, 400)


@router.get("/review/accuracy")
def accuracy_page(request: Request, review: Review, active: Signed) -> Response:
    with review.factory() as session:
        rows = accuracy_by_band(session)
    return render(request, "accuracy.html", {"rows": rows})
