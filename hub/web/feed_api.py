"""The feed API: finding opportunities, one opportunity, the change feed, sources."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from hub.web.answers import answer_response
from hub.web.context import FeedContext, get_context
from hub.web.errors import (
    ERROR_RESPONSES,
    ApiError,
    ErrorBody,
    QueryParameters,
    refuse_unknown_parameters,
)
from hub.web.rpde import (
    MAX_RPDE_PAGE,
    RpdePage,
    Scope,
    from_micros,
    rpde_page,
    to_micros,
)
from hub.web.schemas import (
    FeedPage,
    Index,
    OpportunityDetail,
    OpportunityPage,
    SourcesPage,
)
from hub.web.search import (
    OpportunityQuery,
    SearchPage,
    distance_km,
    find_centre,
    search,
)
from hub.web.sources import list_source_reports
from storage import repository
from storage.feed import FeedPosition, list_goldens
from storage.models import Opportunity
from storage.records import RawJSON, detail_record, encode, extend, summary_document

router = APIRouter(
    dependencies=[Depends(refuse_unknown_parameters)], responses=ERROR_RESPONSES
)
Context = Annotated[FeedContext, Depends(get_context)]
MAX_MERGE_HOPS = 20
# 9999-12-31T23:59:59.999999Z in microseconds since 1970
MAX_MICROS = 253_402_300_799_999_999


def _shape(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """A 200 answer's shape for the OpenAPI description: documentation only,
    the answer itself is copied from stored records (:mod:`hub.web.schemas`)."""
    return {200: {"model": model, "description": "Successful Response"}}


def json_response(payload: Any, status_code: int = 200) -> Response:
    return json_body(encode(payload), status_code)


def json_body(body: str, status_code: int = 200) -> Response:
    return Response(body.encode(), status_code, media_type="application/json")


@router.get("/", summary="What this server offers", responses=_shape(Index))
def index(request: Request, context: Context) -> Response:
    base = str(request.base_url).rstrip("/")
    paths = ("opportunities", "feed", "sources", "coverage", "docs", *EXPORT_PATHS)
    return json_response(
        {
            "name": "Opportunity Hub feed",
            "license": context.licence,
            "links": {path: f"{base}/{path}" for path in paths},
        }
    )


EXPORT_PATHS = (
    "export.jsonl",
    "export.csv",
    "export.jsonld",
    "export.openreferral.json",
    "feed.json",
    "feed.atom",
)


@router.get(
    "/opportunities", summary="Find opportunities", responses=_shape(OpportunityPage)
)
def list_opportunities(
    request: Request,
    context: Context,
    query: Annotated[OpportunityQuery, Query()],
) -> Response:
    """Filtered, sorted and paged with an opaque cursor (follow ``next``). A
    parameter with an empty value (``region=``) is taken as not given."""
    by_place = query.near or query.region or query.local_authority
    gazetteer = context.gazetteer() if by_place else None
    centre = find_centre(query.near, gazetteer) if query.near else None
    url, version = str(request.url), context.feed_version()

    def make() -> tuple[str, bool]:
        with context.factory() as session:
            page = search(session, query, centre, gazetteer)
            stale = [r.opportunity_id for r in page.rows if r.summary_doc is None]
            goldens = list_goldens(session, stale)
        return _list_page(request, context, page, goldens), not stale

    return answer_response(request, context.answers.get_or_make(version, url, make))


def _list_page(
    request: Request,
    context: FeedContext,
    page: SearchPage,
    goldens: dict[str, dict[str, Any]],
) -> str:
    base = str(request.base_url).rstrip("/")
    items = [_summary(row, base, goldens) for row in page.rows]
    next_url = None
    if page.next_cursor:
        next_url = str(request.url.include_query_params(cursor=page.next_cursor))
    return encode({"items": items, "next": next_url, "license": context.licence})


def _summary(row: Any, base: str, goldens: dict[str, dict[str, Any]]) -> RawJSON:
    """The stored list-page record (or one made now, when it is stale), with
    its URL here and its distance from the search's centre."""
    document = row.summary_doc
    if document is None:
        golden = goldens.get(row.opportunity_id, {})
        document = summary_document(row.opportunity_id, row.state, row.modified, golden)
    extra: dict[str, Any] = {"url": f"{base}/opportunities/{row.opportunity_id}"}
    if "distance" in row._fields:
        extra["distance_km"] = distance_km(row.distance)
    return extend(document, extra)


@router.get(
    "/opportunities/{opportunity_id}",
    summary="One opportunity",
    responses={
        **_shape(OpportunityDetail),
        301: {"description": "Merged into another"},
        404: {"model": ErrorBody, "description": "No such opportunity"},
        410: {"model": ErrorBody, "description": "Deleted"},
    },
)
def get_opportunity(
    request: Request, context: Context, opportunity_id: str
) -> Response:
    """With member listings, each field's source, also-listed-on and licences."""
    with context.factory() as session:
        opportunity = _load(session, opportunity_id)
        if opportunity is None:
            raise ApiError(404, "not_found", f"no opportunity {opportunity_id!r}")
        if opportunity.state == "merged":
            target = _survivor(session, opportunity)
            url = request.url_for("get_opportunity", opportunity_id=target)
            return RedirectResponse(str(url), status_code=301)
        if opportunity.state == "deleted":
            raise ApiError(410, "gone", f"opportunity {opportunity_id!r} was deleted")
        return json_response(detail_record(opportunity))


def _load(session: Session, opportunity_id: str) -> Opportunity | None:
    return repository.get_opportunity(session, opportunity_id)


def _survivor(session: Session, opportunity: Opportunity) -> str:
    current = opportunity
    for _ in range(MAX_MERGE_HOPS):
        if current.state != "merged" or current.merged_into is None:
            break
        following = session.get(Opportunity, current.merged_into)
        if following is None:
            break
        current = following
    return current.id


class FeedQuery(QueryParameters):
    """The parameters of ``GET /feed``; any other parameter is a 400."""

    model_config = ConfigDict(populate_by_name=True)

    afterTimestamp: int | None = Field(
        None,
        ge=0,
        le=MAX_MICROS,
        description="Position: the modified stamp of the last item read.",
    )  # noqa: N815
    afterId: str | None = Field(
        None, max_length=40, description="Position: the id of the last item read."
    )  # noqa: N815
    limit: int = Field(100, ge=1, le=MAX_RPDE_PAGE)
    scope: Scope = Field(
        "published",
        description=(
            "'published' sends opportunities in scope, and a tombstone for each"
            " one that was and is no longer; 'all' sends every opportunity, out"
            " of scope ones as updates."
        ),
    )


@router.get("/feed", summary="The change feed (RPDE)", responses=_shape(FeedPage))
def get_feed(
    request: Request, context: Context, query: Annotated[FeedQuery, Query()]
) -> Response:
    """Follow ``next`` until a page has no items; its ``next`` is itself."""
    if (query.afterTimestamp is None) != (query.afterId is None):
        raise ApiError(
            400, "invalid_position", "give afterTimestamp and afterId together"
        )
    after = None
    if query.afterTimestamp is not None and query.afterId is not None:
        after = FeedPosition(from_micros(query.afterTimestamp), query.afterId)

    def url_after(position: FeedPosition) -> str:
        return str(
            request.url.include_query_params(
                afterTimestamp=to_micros(position.modified),
                afterId=position.opportunity_id,
            )
        )

    def page_at(position: FeedPosition | None, own_url: str) -> RpdePage:
        """The page after ``position``; on the last page ``next`` is itself."""

        def next_url(last: FeedPosition | None) -> str:
            return own_url if last is None else url_after(last)

        with context.factory() as session:
            return rpde_page(
                session, position, query.limit, query.scope, context.licence, next_url
            )

    url = str(request.url)
    made: list[RpdePage] = []

    def make() -> tuple[bytes, bool]:
        page = context.ahead.take(version, url) or page_at(after, url)
        made.append(page)
        return page.body, page.stored

    with context.ahead.answering():
        version = context.feed_version()
        answer = context.answers.get_or_make(version, url, make)
        last = made[0].last if made else None
        if last is not None:  # the consumer will ask for the next page
            following = url_after(last)
            context.ahead.start(version, following, lambda: page_at(last, following))
    return answer_response(request, answer)


@router.get(
    "/sources",
    summary="Sources, their last run and field coverage",
    responses=_shape(SourcesPage),
)
def get_sources(context: Context) -> Response:
    with context.factory() as session:
        return json_response({"sources": list_source_reports(session)})
