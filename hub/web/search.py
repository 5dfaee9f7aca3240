"""Finding opportunities: filters, sorts and keyset cursors over the search tables.

A cursor is opaque to clients: base64url JSON holding the sort, the last row's
sort key and id, and a digest of the filters, so that a cursor can only continue
the query it came from. Distance is a flat-earth approximation (degrees of
latitude, and of longitude scaled by the cosine of the centre's latitude), close
to great-circle distance within the 200 km a search may cover, and computed with
plain arithmetic so it runs alike on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator
from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import Session

from hub.web.errors import ApiError, QueryParameters, invalid_value
from pipelines.eligibility import CRITERIA
from pipelines.geo import AmbiguousName, Gazetteer
from pipelines.postcodes import normalise_postcode
from spiders.items import OpportunityType
from storage.feed import fold_text, tag_for
from storage.models import Opportunity, Source
from storage.models_feed import OpportunityPlace, OpportunitySearch, OpportunityTag

KM_PER_DEGREE = 111.195
MAX_RADIUS_KM = 200.0
MAX_PAGE = 100
# places within the circle from which a search walks the sort order instead
CROWDED_PLACES = 5000
# the shares of the radius a search by distance tries, smallest first
NEAREST_SHARES = (0.25, 0.5, 1.0)
S = OpportunitySearch.__table__.c
P = OpportunityPlace.__table__.c
T = OpportunityTag.__table__.c
O = Opportunity.__table__.c  # noqa: E741
Criterion = Literal[CRITERIA]  # type: ignore[valid-type]


def _folded(values: object) -> object:
    """A value, or values, as a vocabulary spells them: lower case, no padding."""
    if isinstance(values, list):
        return [_folded(v) for v in values]
    return values.strip().lower() if isinstance(values, str) else values


class OpportunityQuery(QueryParameters):
    """The parameters of ``GET /opportunities``; any other parameter is a 400."""

    q: str | None = Field(
        None,
        max_length=200,
        description="Words that must each appear (case-folded, as parts of words"
        " too) in the title, provider or summary; no phrases or operators.",
    )
    type: Annotated[list[OpportunityType], BeforeValidator(_folded)] = Field(
        default_factory=list, description="Opportunity type (repeatable, any case)."
    )
    in_scope: Annotated[Literal["true", "false", "any"], BeforeValidator(_folded)] = (
        Field(
            "true",
            description="Published (in scope) ones only, the others only, or both.",
        )
    )
    region: str | None = Field(
        None,
        max_length=100,
        description="Region or nation, e.g. North East, Wales or England (any"
        " case); one the hub does not know is a 422 that lists them. Without"
        " the server's geography the name is matched as given.",
    )
    local_authority: str | None = Field(
        None,
        max_length=100,
        description="Local authority: a spelling of its name, or its GSS code"
        " (a former one too). A former authority finds those that replaced it;"
        " a county or combined authority, those within it; a name of several"
        " authorities is a 422 that names them. Without the server's geography"
        " the name or code is matched as given.",
    )
    near: str | None = Field(
        None,
        max_length=12,
        description="A UK postcode or postcode district: either is searched from"
        " the district's centre.",
    )
    radius_km: float = Field(
        25.0,
        gt=0,
        le=MAX_RADIUS_KM,
        allow_inf_nan=False,
        description="Search radius around `near` (needs `near`).",
    )
    mode: Annotated[
        Literal["in_person", "remote", "hybrid", "national"] | None,
        BeforeValidator(_folded),
    ] = None
    age: int | None = Field(
        None, ge=0, le=120, description="An age the opportunity is open to."
    )
    closing_after: datetime | None = Field(
        None,
        description="Closing at or after this instant (no closing date counts"
        " as open).",
    )
    criteria: Annotated[list[Criterion], BeforeValidator(_folded)] = Field(
        default_factory=list,
        description="Eligibility criteria, all required (repeatable, any case).",
    )
    provider_kind: Annotated[
        Literal["charity", "employer", "government", "aggregator"] | None,
        BeforeValidator(_folded),
    ] = None
    source: list[str] = Field(
        default_factory=list,
        description="Listed on any of these sources (repeatable); `/sources`"
        " names them.",
    )
    sort: Annotated[
        Literal["closing", "newest", "distance"], BeforeValidator(_folded)
    ] = Field(
        "closing",
        description="By closing date (soonest first, none last), newest (by"
        " posted date, or when the hub first saw a listing that gives none) or"
        " distance from `near`.",
    )
    limit: int = Field(20, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(None, max_length=1000)

    @classmethod
    def _given_empty(cls, name: str, given: dict[str, Any]) -> None:
        # a form's empty postcode box: no place, so its radius and a sort by
        # distance from it mean nothing either
        if name == "near":
            given.pop("radius_km", None)
            if given.get("sort") == "distance":
                del given["sort"]

    @field_validator("criteria", "source")
    @classmethod
    def _once_each(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(values))

    def filter_digest(self) -> str:
        values = self.model_dump(mode="json", exclude={"cursor", "limit"})
        encoded = json.dumps(values, sort_keys=True).encode()
        return hashlib.sha256(encoded).hexdigest()[:16]


@dataclass(frozen=True)
class Centre:
    lat: float
    lon: float
    outcode: str

    def squared_degrees(self) -> ColumnElement[float]:
        scale = math.cos(math.radians(self.lat))
        dx = (P.lon - self.lon) * scale
        dy = P.lat - self.lat
        return dx * dx + dy * dy

    def box(self, radius_km: float) -> list[ColumnElement[bool]]:
        dlat = radius_km / KM_PER_DEGREE
        dlon = dlat / max(math.cos(math.radians(self.lat)), 0.01)
        return [
            P.lat.between(self.lat - dlat, self.lat + dlat),
            P.lon.between(self.lon - dlon, self.lon + dlon),
        ]


@dataclass
class SearchPage:
    rows: list[Any]
    next_cursor: str | None


def find_centre(near: str, gazetteer: Gazetteer | None) -> Centre:
    """The centre of a postcode's district, or a 422 that says what was wrong."""
    if gazetteer is None:
        raise ApiError(
            503, "no_geography", "postcode search needs HUB_GEO_DIR on the server"
        )
    match = normalise_postcode(near)
    if match is None:
        raise invalid_value(
            "near",
            "invalid_postcode",
            f"not a UK postcode: {near!r}",
            detail="not a UK postcode",
        )
    place = gazetteer.place(match.outcode)
    if place is None or place.lat is None or place.lon is None:
        raise invalid_value(
            "near",
            "unknown_postcode",
            f"unknown postcode district: {match.outcode}",
            detail="unknown postcode district",
        )
    return Centre(place.lat, place.lon, match.outcode)


def search(
    session: Session,
    query: OpportunityQuery,
    centre: Centre | None,
    gazetteer: Gazetteer | None = None,
) -> SearchPage:
    """A page of the query; regions and authorities are checked against
    ``gazetteer`` (without one they are taken as given)."""
    if "radius_km" in query.model_fields_set and centre is None:
        raise invalid_value(
            "radius_km", "needs_near", "radius_km needs near", code="invalid_parameter"
        )
    if query.sort == "distance" and centre is None:
        raise invalid_value(
            "sort", "needs_near", "sort=distance needs near", code="invalid_parameter"
        )
    after = decode_cursor(query.cursor, query) if query.cursor else None
    conditions = _conditions(query, _required_tags(session, query, gazetteer))
    if centre is None:
        rows = _page(session, query, conditions, None, query.radius_km, after)
    elif query.sort == "distance":
        rows = _nearest_page(session, query, conditions, centre, after)
    else:
        dense = _crowded(session, centre, query.radius_km)
        rows = _page(
            session, query, conditions, centre, query.radius_km, after, dense=dense
        )
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    next_cursor = encode_cursor(query, rows[-1]) if more and rows else None
    return SearchPage(rows, next_cursor)


def _page(
    session: Session,
    query: OpportunityQuery,
    conditions: list[ColumnElement[bool]],
    centre: Centre | None,
    radius_km: float,
    after: tuple[Any, str] | None,
    *,
    dense: bool = False,
) -> list[Any]:
    """Up to ``limit + 1`` rows meeting ``conditions`` within ``radius_km``
    of ``centre``, in the query's order."""
    distance = _distance(centre, radius_km)
    key = _sort_key(query.sort, distance)
    statement = _filtered(conditions, centre, distance, radius_km, dense=dense)
    statement = statement.add_columns(key.label("sort_key"))
    if after is not None:
        statement = statement.where(_after(query.sort, key, after))
    descending = query.sort == "newest"
    order = (
        (key.desc(), S.opportunity_id.desc()) if descending else (key, S.opportunity_id)
    )
    found = statement.order_by(*order).limit(query.limit + 1).subquery()
    # the opportunity's own row read for the page only, not for every candidate
    fresh = found.c.doc_change_no == O.change_no
    page = (
        select(
            found.c.opportunity_id,
            O.state,
            O.modified,
            case((fresh, found.c.summary_doc), else_=None).label("summary_doc"),
            found.c.sort_key,
            *([found.c.distance] if centre is not None else []),
        )
        .join_from(found, Opportunity.__table__, O.id == found.c.opportunity_id)
        .order_by(
            *(
                (found.c.sort_key.desc(), found.c.opportunity_id.desc())
                if descending
                else (found.c.sort_key, found.c.opportunity_id)
            )
        )
    )
    return list(session.execute(page))


def _crowded(session: Session, centre: Centre, radius_km: float) -> bool:
    """Whether the circle holds so many places that walking the sort order and
    testing each row's distance finds a page sooner than gathering them all."""
    within = centre.squared_degrees() <= _radius_degrees(radius_km) ** 2
    places = select(P.id).where(*centre.box(radius_km), within).limit(CROWDED_PLACES)
    found = session.scalar(select(func.count()).select_from(places.subquery()))
    return (found or 0) >= CROWDED_PLACES


def _nearest_page(
    session: Session,
    query: OpportunityQuery,
    conditions: list[ColumnElement[bool]],
    centre: Centre,
    after: tuple[Any, str] | None,
) -> list[Any]:
    """The page nearest ``centre``: tried within a quarter, then a half, then
    the whole radius. Everything within a smaller circle is nearer than
    anything outside it, so a full page from one is the page of the whole."""
    beyond = float(after[0]) if after is not None else 0.0
    for share in NEAREST_SHARES:
        radius_km = query.radius_km * share
        if share < 1 and _radius_degrees(radius_km) ** 2 <= beyond:
            continue
        rows = _page(session, query, conditions, centre, radius_km, after)
        if len(rows) > query.limit or share == 1:
            return rows
    raise AssertionError("the whole radius is always tried")


def _filtered(
    conditions: list[ColumnElement[bool]],
    centre: Centre | None,
    distance: Any,
    radius_km: float,
    *,
    dense: bool,
) -> Select[Any]:
    statement = select(S.opportunity_id, S.summary_doc, S.doc_change_no).where(
        S.state == "live", *conditions
    )
    if centre is not None:
        reach = _radius_degrees(radius_km) ** 2
        statement = statement.add_columns(distance.label("distance"))
        if dense:
            # tested row by row as the sort order is walked (a subquery the
            # planner keeps per row, where it would turn IN into a join)
            statement = statement.where(distance <= reach)
        else:
            within = centre.squared_degrees() <= reach
            nearby = select(P.opportunity_id).where(*centre.box(radius_km), within)
            statement = statement.where(S.opportunity_id.in_(nearby))
    return statement


def _conditions(
    query: OpportunityQuery, required_tags: list[list[str]]
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.in_scope != "any":
        conditions.append(S.in_scope.is_(query.in_scope == "true"))
    for word in fold_text(query.q or "").split():
        conditions.append(S.text.contains(word, autoescape=True))
    if query.type:
        conditions.append(S.opportunity_type.in_(query.type))
    if query.mode:
        conditions.append(S.mode == query.mode)
    if query.age is not None:
        conditions.append(or_(S.age_min.is_(None), S.age_min <= query.age))
        conditions.append(or_(S.age_max.is_(None), S.age_max >= query.age))
    if query.closing_after is not None:
        conditions.append(S.closing_sort >= _aware(query.closing_after))
    conditions.extend(_has_tag(tags) for tags in required_tags)
    return conditions


def _required_tags(
    session: Session, query: OpportunityQuery, gazetteer: Gazetteer | None
) -> list[list[str]]:
    """The tags a result must hold: one of each list. A region, authority or
    source the hub does not know is a 422, not an empty page."""
    required = [[tag_for("criterion", c)] for c in query.criteria]
    if query.region:
        regions = _regions(query.region, gazetteer)
        required.append([tag_for("region", region) for region in regions])
    if query.local_authority:
        codes = _authority_codes(query.local_authority, gazetteer)
        required.append([tag_for("la", code) for code in codes])
    if query.provider_kind:
        required.append([tag_for("provider_kind", query.provider_kind)])
    if query.source:
        _check_sources(session, query.source)
        required.append([tag_for("source", s) for s in query.source])
    return required


def _regions(region: str, gazetteer: Gazetteer | None) -> list[str]:
    if gazetteer is None:
        return [region]
    regions = gazetteer.regions_named(region)
    if not regions:
        raise invalid_value(
            "region",
            "unknown_region",
            f"unknown region: {region!r}",
            detail=f"one of: {', '.join(gazetteer.regions())}, or England",
        )
    return regions


def _authority_codes(text: str, gazetteer: Gazetteer | None) -> list[str]:
    """What places name the authorities ``text`` names by: their GSS codes,
    and the text itself (all there is to go on without a gazetteer)."""
    if gazetteer is None:
        return [text]
    try:
        authorities = gazetteer.authorities_named(text)
    except AmbiguousName as exc:
        raise invalid_value(
            "local_authority",
            "ambiguous_local_authority",
            str(exc),
            detail="name one of them, or give its GSS code",
        ) from None
    if not authorities:
        raise invalid_value(
            "local_authority",
            "unknown_local_authority",
            f"unknown local authority: {text!r}",
            detail="not a name or GSS code of a UK local authority",
        )
    return [text, *(a.gss_code for a in authorities)]


def _check_sources(session: Session, sources: list[str]) -> None:
    known = {fold_text(name) for name in session.scalars(select(Source.name))}
    unknown = [name for name in sources if fold_text(name) not in known]
    if unknown:
        raise invalid_value(
            "source",
            "unknown_source",
            f"unknown source(s): {', '.join(repr(name) for name in unknown)}",
            detail="not a source of the hub; /sources names them",
        )


def _has_tag(tags: list[str]) -> ColumnElement[bool]:
    match = T.tag == tags[0] if len(tags) == 1 else T.tag.in_(tags)
    return exists().where(T.opportunity_id == S.opportunity_id, match)


def _distance(centre: Centre | None, radius_km: float) -> Any:
    if centre is None:
        return None
    return (
        select(func.min(centre.squared_degrees()))
        .where(P.opportunity_id == S.opportunity_id, *centre.box(radius_km))
        .scalar_subquery()
    )


def _radius_degrees(radius_km: float) -> float:
    return radius_km / KM_PER_DEGREE


def distance_km(squared_degrees: float | None) -> float | None:
    if squared_degrees is None:
        return None
    return round(math.sqrt(squared_degrees) * KM_PER_DEGREE, 2)


def _sort_key(sort: str, distance: Any) -> Any:
    if sort == "distance":
        return distance
    return S.newest_sort if sort == "newest" else S.closing_sort


def _after(sort: str, key: Any, after: tuple[Any, str]) -> ColumnElement[bool]:
    position = tuple_(key, S.opportunity_id)
    bound = tuple_(
        bindparam("after_key", after[0], type_=key.type),
        bindparam("after_id", after[1], type_=S.opportunity_id.type),
    )
    return position < bound if sort == "newest" else position > bound


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def encode_cursor(query: OpportunityQuery, row: Any) -> str:
    key = row.sort_key
    if isinstance(key, datetime):
        key = _aware(key).isoformat()
    payload = {
        "s": query.sort,
        "k": key,
        "i": row.opportunity_id,
        "f": query.filter_digest(),
    }
    encoded = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(encoded).decode().rstrip("=")


def decode_cursor(cursor: str, query: OpportunityQuery) -> tuple[Any, str]:
    """The (sort key, id) a cursor continues after; a 400 if it is not ours.
    Its keys are checked to be of the kind :func:`encode_cursor` writes (an
    instant with its offset, or a finite distance, and an id), as a cursor is
    only base64: one made by hand must not reach the database."""
    invalid = ApiError(
        400, "invalid_cursor", "the cursor is not one this server gave out"
    )
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        key, last_id = payload["k"], payload["i"]
        if payload["f"] != query.filter_digest() or payload["s"] != query.sort:
            raise ApiError(
                400,
                "cursor_mismatch",
                "the cursor belongs to another query: keep the same filters and sort",
            )
        if not isinstance(last_id, str):
            raise invalid
        if query.sort == "distance":
            if type(key) not in (int, float) or not math.isfinite(key):
                raise invalid
            return float(key), last_id
        instant = datetime.fromisoformat(key) if isinstance(key, str) else None
        if instant is None or instant.utcoffset() is None:
            raise invalid
        return instant, last_id
    except ApiError:
        raise
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise invalid from None
