"""A UK gazetteer: postcode districts (outcodes) and the local authorities they sit in.

The operator supplies two CSV files: a postcode-district table (ONS/OS-derived:
``Postcode``, ``Latitude``, ``Longitude``, ``Town/Area``, ``Region``, ``UK region``)
and mySociety's local-authority register (``gss-code``, names, ``nation``,
``region``, ``pop-2020``, centroid ``lat``/``long``, ``current-authority``).

A district names its authority in ``Region``, loosely ("Redcar & Cleveland",
"Birmingham ", a former district, a historic county). The name is matched against
the names of current lower-tier or unitary authorities first, then of abolished
ones, following ``replaced-by`` to today's authority; when nothing matches, the
nearest current authority centroid in the same UK region is taken.
"""

from __future__ import annotations

import csv
import logging
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelines.postcodes import normalise_postcode

logger = logging.getLogger(__name__)

EARTH_RADIUS_KM = 6371.0088

DISTRICT_COLUMNS = ("Postcode", "Latitude", "Longitude", "Town/Area", "Region")
AUTHORITY_COLUMNS = (
    "local-authority-code",
    "official-name",
    "nice-name",
    "gss-code",
    "nation",
    "region",
    "pop-2020",
    "lat",
    "long",
    "current-authority",
    "alt-names",
)
_NATION_OF_UK_REGION = {
    "Scotland": "Scotland",
    "Wales": "Wales",
    "Northern Ireland": "Northern Ireland",
}
_MAX_REPLACEMENT_HOPS = 5
# An authority's centroid further than this from a district is not its authority.
NEAREST_AUTHORITY_KM = 150.0
_NOT_A_NAME = frozenset({"borough", "council", "county", "district", "of"})


class AmbiguousName(LookupError):
    """A name that more than one current authority goes by."""

    def __init__(self, text: str, candidates: list[LocalAuthority]) -> None:
        names = ", ".join(f"{a.name} ({a.gss_code})" for a in candidates)
        super().__init__(f"{text!r} names more than one authority: {names}")
        self.candidates = candidates


class GazetteerFileError(ValueError):
    """A gazetteer file is missing, unreadable or lacks expected columns."""


@dataclass(frozen=True)
class Place:
    outcode: str
    lat: float | None
    lon: float | None
    town: str | None
    local_authority: str | None
    local_authority_code: str | None  # GSS code, e.g. E09000033
    region: str | None
    nation: str | None
    # how the authority was found: "name", "replaced" (a former authority's name),
    # "partial_name", "nearest" (centroid); None when not found
    authority_match: str | None = None


@dataclass(frozen=True)
class LocalAuthority:
    code: str  # the register's own code, e.g. WSM
    gss_code: str
    name: str
    official_name: str
    nation: str
    region: str
    population: int | None
    lat: float | None
    lon: float | None
    current: bool
    lower_tier_or_unitary: bool = True
    replaced_by: tuple[str, ...] = ()
    names: tuple[str, ...] = ()  # every spelling, normalised with name_key()
    # the register's codes of the county and combined authority it is within
    parents: tuple[str, ...] = ()
    former_gss_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class District:
    outcode: str
    lat: float | None
    lon: float | None
    town: str | None
    authority_name: str
    uk_region: str | None
    in_use: bool = True


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two WGS84 points (NaN if a
    coordinate is not finite)."""
    if not all(math.isfinite(value) for value in (lat1, lon1, lat2, lon2)):
        return math.nan
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    a = math.sin(half_dphi) ** 2
    a += math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, max(0.0, a))))


def name_key(name: str) -> str:
    """A place name folded for matching: case, "&", punctuation and spaces."""
    folded = name.casefold().replace("&", " and ")
    folded = re.sub(r"[.'’]", "", folded)
    return " ".join(re.sub(r"[^\w]+", " ", folded).split())


class Gazetteer:
    def __init__(
        self, districts: Iterable[District], authorities: Iterable[LocalAuthority]
    ) -> None:
        self._districts = {d.outcode: d for d in districts}
        self._authorities = {a.code: a for a in authorities}
        self._by_name = _index_by_name(self._authorities.values())
        self._lower_current = [
            a
            for a in self._authorities.values()
            if a.current and a.lower_tier_or_unitary and a.lat is not None
        ]
        self._points = [
            (d.outcode, d.lat, d.lon)
            for d in self._districts.values()
            if d.lat is not None and d.lon is not None and _is_geographic(d)
        ]
        self._upper_tier_names = {
            name
            for a in self._authorities.values()
            if not a.lower_tier_or_unitary
            for name in a.names
        }
        self._places: dict[str, Place] = {}
        self._partial_cache: dict[str, list[LocalAuthority]] = {}
        self._regions = sorted(
            {a.region for a in self._authorities.values() if a.region}
            | {d.uk_region for d in self._districts.values() if d.uk_region}
        )
        self._by_code = {
            code.upper(): a
            for a in self._authorities.values()
            for code in a.former_gss_codes
        }
        self._by_code.update(
            (code.upper(), a)
            for a in self._authorities.values()
            for code in (a.code, a.gss_code)
            if code
        )
        self._children: dict[str, list[LocalAuthority]] = {}
        for authority in self._authorities.values():
            for parent in authority.parents:
                self._children.setdefault(parent, []).append(authority)

    @classmethod
    def from_files(cls, postcode_districts: Path, local_authorities: Path) -> Gazetteer:
        """Load the two operator-supplied CSV files.

        Raises:
            GazetteerFileError: a file is missing, unreadable or lacks columns.
        """
        districts = [
            _district(row) for row in _rows(postcode_districts, DISTRICT_COLUMNS)
        ]
        authorities = [
            _authority(row) for row in _rows(local_authorities, AUTHORITY_COLUMNS)
        ]
        logger.info(
            "Loaded %d postcode districts and %d local authorities",
            len(districts),
            len(authorities),
        )
        return cls(districts, authorities)

    def place(self, outcode: str) -> Place | None:
        """The district of an outcode (or of a full postcode), with its authority."""
        key = _outcode_key(outcode)
        if key is None or key not in self._districts:
            return None
        if key not in self._places:
            self._places[key] = self._resolve(self._districts[key])
        return self._places[key]

    def nearest_outcode(
        self, lat: float, lon: float, max_km: float = 50.0
    ) -> str | None:
        """The in-use geographic district whose centroid is nearest, within max_km."""
        if not _valid_point(lat, lon):
            return None
        best = min(
            self._points,
            key=lambda point: _rough_distance(lat, lon, point[1], point[2]),
            default=None,
        )
        if best is None or haversine_km(lat, lon, best[1], best[2]) > max_km:
            return None
        return best[0]

    def local_authorities(
        self, include_upper_tier: bool = False
    ) -> list[LocalAuthority]:
        """Current authorities; by default only the lower-tier and unitary ones,
        which tile the UK without overlapping."""
        return sorted(
            (
                a
                for a in self._authorities.values()
                if a.current and (include_upper_tier or a.lower_tier_or_unitary)
            ),
            key=lambda a: a.name,
        )

    def regions(self) -> list[str]:
        """The regions places are given: England's nine and the other nations."""
        return self._regions

    def regions_named(self, text: str) -> list[str]:
        """The regions ``text`` names: one by its name, or a nation's (England
        gives its nine); spelt in any case, "&" for "and"."""
        key = name_key(text)
        named = [r for r in self._regions if name_key(r) == key]
        if named:
            return named
        nation = {
            a.region
            for a in self._authorities.values()
            if a.region and name_key(a.nation) == key
        }
        return sorted(nation)

    def authorities_named(self, text: str) -> list[LocalAuthority]:
        """The authorities places are given (current, lower-tier or unitary)
        that ``text`` names, by a GSS code (a former one too), the register's
        code, or a spelling of a name, whole or, failing that, in part. A
        former authority stands for those that replaced it; a county or
        combined authority for the authorities within it, unless the name is
        also an authority's own.

        Raises:
            AmbiguousName: the name is that of more than one authority.
        """
        key = name_key(text)
        coded = self._by_code.get(text.strip().upper())
        if coded is not None:
            named = [coded]
        else:
            named = self._by_name.get(key) or self._partial_name_matches(key)
        own = {a.code: a for a in named if a.current and a.lower_tier_or_unitary}
        if len(own) > 1:
            raise AmbiguousName(text, sorted(own.values(), key=lambda a: a.name))
        found = {a.code: a for a in self._served(list(own.values()) or named)}
        return sorted(found.values(), key=lambda a: a.name)

    def _served(
        self, authorities: Iterable[LocalAuthority]
    ) -> Iterator[LocalAuthority]:
        seen: set[str] = set()
        frontier = list(authorities)
        while frontier:
            authority = frontier.pop()
            if authority.code in seen:
                continue
            seen.add(authority.code)
            if not authority.current:
                frontier.extend(self._successors([authority]))
            elif authority.lower_tier_or_unitary:
                yield authority
            else:
                # those within it now: a former one's successors are within it
                # when they say so themselves (the register names Surrey as
                # Forest Heath's county, whose successor is in Suffolk)
                within = self._children.get(authority.code, [])
                frontier.extend(a for a in within if a.current)

    def _resolve(self, district: District) -> Place:
        authority, how = self._authority_for(district)
        return Place(
            outcode=district.outcode,
            lat=district.lat,
            lon=district.lon,
            town=district.town,
            local_authority=authority.name if authority else None,
            local_authority_code=authority.gss_code if authority else None,
            region=authority.region if authority else district.uk_region,
            nation=authority.nation if authority else _nation(district.uk_region),
            authority_match=how if authority else None,
        )

    def _authority_for(self, district: District) -> tuple[LocalAuthority | None, str]:
        named = self._by_name.get(name_key(district.authority_name), [])
        current = [a for a in named if a.current and a.lower_tier_or_unitary]
        if current:
            return self._nearest(district, current), "name"
        successors = self._successors(named)
        if successors:
            return self._nearest(district, successors), "replaced"
        partial = self._partial_name_matches(name_key(district.authority_name))
        if partial:
            return self._nearest(district, partial), "partial_name"
        return self._nearest_in_region(district), "nearest"

    def _partial_name_matches(self, key: str) -> list[LocalAuthority]:
        # "Bromsgrove Worcestershire" -> Bromsgrove; "North Down" -> "Ards and North
        # Down"; "Newcastle" -> "Newcastle upon Tyne". A county's name ("Norfolk")
        # is not read as part of "South Norfolk": that is left to the centroid.
        if len(key) < 4:
            return []
        if key not in self._partial_cache:
            is_county = key in self._upper_tier_names
            self._partial_cache[key] = [
                a
                for a in self._lower_current
                if any(
                    _holds_words(key, name)
                    or (not is_county and _names_part(name, key))
                    for name in a.names
                )
            ]
        return self._partial_cache[key]

    def _successors(
        self, authorities: Iterable[LocalAuthority]
    ) -> list[LocalAuthority]:
        found: dict[str, LocalAuthority] = {}
        frontier = list(authorities)
        for _ in range(_MAX_REPLACEMENT_HOPS):
            codes = [code for a in frontier for code in a.replaced_by]
            frontier = [self._authorities[c] for c in codes if c in self._authorities]
            found.update(
                (a.code, a) for a in frontier if a.current and a.lower_tier_or_unitary
            )
            frontier = [a for a in frontier if not a.current]
        return list(found.values())

    def _nearest_in_region(self, district: District) -> LocalAuthority | None:
        # Without a UK region (Channel Islands, Isle of Man, BFPO) there is no
        # UK authority to fall back on.
        if district.lat is None or not district.uk_region:
            return None
        same_region = [a for a in self._lower_current if a.region == district.uk_region]
        nearest = self._nearest(district, same_region)
        if nearest is None or _distance_km(district, nearest) > NEAREST_AUTHORITY_KM:
            return None
        return nearest

    def _nearest(
        self, district: District, candidates: list[LocalAuthority]
    ) -> LocalAuthority | None:
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        return min(candidates, key=lambda a: _distance_km(district, a))


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[dict[str, str]]:
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise GazetteerFileError(f"{path}: cannot open gazetteer file ({exc})") from exc
    with handle:
        reader = csv.DictReader(handle)
        try:
            header = reader.fieldnames or []
        except UnicodeDecodeError as exc:
            raise GazetteerFileError(f"{path}: not UTF-8 text ({exc})") from exc
        missing = [column for column in required if column not in header]
        if missing:
            raise GazetteerFileError(
                f"{path}: missing columns {', '.join(repr(c) for c in missing)}; "
                f"expected at least {', '.join(required)}"
            )
        try:
            yield from reader
        except (UnicodeDecodeError, csv.Error) as exc:
            raise GazetteerFileError(f"{path}: unreadable row ({exc})") from exc


def _district(row: dict[str, str]) -> District:
    active = (row.get("Active postcodes") or "").strip()
    return District(
        outcode=row["Postcode"].strip().upper(),
        lat=_float(row["Latitude"]),
        lon=_float(row["Longitude"]),
        town=(row["Town/Area"] or "").strip() or None,
        authority_name=(row["Region"] or "").strip(),
        uk_region=(row.get("UK region") or "").strip() or None,
        in_use=active != "0" if active else True,
    )


def _authority(row: dict[str, str]) -> LocalAuthority:
    spellings = [row["nice-name"], row["official-name"], *row["alt-names"].split(",")]
    return LocalAuthority(
        code=row["local-authority-code"].strip(),
        gss_code=row["gss-code"].strip(),
        name=row["nice-name"].strip(),
        official_name=row["official-name"].strip(),
        nation=row["nation"].strip(),
        region=row["region"].strip(),
        population=_int(row["pop-2020"]),
        lat=_float(row["lat"]),
        lon=_float(row["long"]),
        current=_true(row["current-authority"])
        and not (row.get("end-date") or "").strip(),
        lower_tier_or_unitary=_true(row.get("lower-or-unitary") or "True"),
        replaced_by=tuple(
            c.strip() for c in (row.get("replaced-by") or "").split(",") if c.strip()
        ),
        names=tuple(dict.fromkeys(k for s in spellings if len(k := name_key(s)) >= 3)),
        parents=tuple(
            code
            for column in ("county-la", "combined-authority")
            if (code := (row.get(column) or "").strip())
        ),
        former_gss_codes=tuple(
            c.strip()
            for c in (row.get("former-gss-codes") or "").split(",")
            if c.strip()
        ),
    )


def _index_by_name(
    authorities: Iterable[LocalAuthority],
) -> dict[str, list[LocalAuthority]]:
    index: dict[str, list[LocalAuthority]] = {}
    for authority in authorities:
        for key in authority.names:
            index.setdefault(key, []).append(authority)
    return index


def _outcode_key(text: object) -> str | None:
    if not isinstance(text, str):
        return None
    match = normalise_postcode(text)
    if match is not None:
        return match.outcode
    return "".join(text.split()).upper() or None


def _holds_words(outer: str, inner: str) -> bool:
    return len(inner) >= 4 and f" {inner} " in f" {outer} "


def _names_part(name: str, key: str) -> bool:
    # "derry city" holds "derry"; "london borough of islington" does not hold "london"
    if key not in name:
        return False
    for part in (part.strip() for part in re.split(r",| and ", name)):
        rest = part.removeprefix(f"{key} ") if part != key else ""
        if part == key or (rest != part and rest.split()[0] not in _NOT_A_NAME):
            return True
    return False


def _is_geographic(district: District) -> bool:
    non_geographic = (district.town or "").lower().startswith("non-geographic")
    return district.in_use and not non_geographic


def _distance_km(district: District, authority: LocalAuthority) -> float:
    lat, lon = district.lat, district.lon
    other_lat, other_lon = authority.lat, authority.lon
    if lat is None or lon is None or other_lat is None or other_lon is None:
        return math.inf
    return haversine_km(lat, lon, other_lat, other_lon)


def _nation(uk_region: str | None) -> str | None:
    if not uk_region:
        return None
    return _NATION_OF_UK_REGION.get(uk_region, "England")


def _valid_point(lat: object, lon: object) -> bool:
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return False
    return -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0


def _rough_distance(lat: float, lon: float, lat2: float, lon2: float) -> float:
    # Equirectangular, good enough to rank points a few hundred km apart.
    x = math.radians(lon2 - lon) * math.cos(math.radians((lat + lat2) / 2))
    return x * x + math.radians(lat2 - lat) ** 2


def _float(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _int(text: str | None) -> int | None:
    value = _float(text)
    return int(value) if value is not None else None


def _true(text: str) -> bool:
    return text.strip().lower() in {"true", "1", "yes", "y"}
