"""Synthetic UK opportunity listings with a known truth, for the scale benchmark.

Opportunities are made first (provider, role, place, dates, pay, apply link);
each is then listed one or more times by different sources, and every extra
listing is perturbed the way aggregators and re-posts perturb them: typos,
reordered or abbreviated words, moved postcodes, shifted dates, missing fields.
Confusers are built in: a provider posts the same role in several towns and at
several levels, and many providers post the same role title.

Postcode districts (with centroids) are read in place from the shared geo data
when it is there; otherwise a small made-up grid stands in.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from dedupe import MatchRecord

GEO_FILE = Path("geo") / "postcode_districts.csv"
SOURCES = (
    "findapprenticeship",
    "gov-careers",
    "ratemyapprenticeship",
    "prospects",
    "brightnetwork",
    "indeed",
    "unitasterdays",
    "mentoring-hub",
)
FIELDS = (
    "Business Administration",
    "Software Engineering",
    "Data Analysis",
    "Accountancy",
    "Digital Marketing",
    "Civil Engineering",
    "Electrical Engineering",
    "Mechanical Engineering",
    "Healthcare Support",
    "Pharmacy Services",
    "Customer Service",
    "Hospitality",
    "Construction",
    "Plumbing",
    "Carpentry",
    "Law",
    "Medicine",
    "Dentistry",
    "Veterinary Science",
    "Architecture",
    "Graphic Design",
    "Journalism",
    "Cyber Security",
    "Network Engineering",
    "Project Management",
    "Human Resources",
    "Supply Chain",
    "Retail Management",
    "Early Years Education",
    "Teaching Assistant",
    "Social Care",
    "Nursing",
    "Laboratory Science",
    "Chemistry",
    "Physics",
    "Mathematics",
    "Economics",
    "Finance",
    "Insurance",
    "Banking",
    "Creative Media",
    "Film Production",
    "Music Technology",
    "Sports Coaching",
    "Horticulture",
    "Agriculture",
    "Automotive Technician",
    "Aerospace Engineering",
    "Rail Engineering",
    "Energy Engineering",
)
KINDS = (
    "Level {n} {f} Apprenticeship",
    "{f} Apprentice (Level {n})",
    "Summer Internship in {f}",
    "{f} Summer School",
    "{f} Insight Day for Year {y} Students",
    "Degree Apprenticeship in {f}",
    "{f} Mentoring Programme",
    "Spring Week: {f}",
)
NAME_PARTS = (
    "Abbott Ashford Barker Bramley Carter Chalk Dalton Denton Ellis Fairfax "
    "Fletcher Garner Hale Harrow Ingram Jarvis Kendal Lowry Marsh Morley Norton "
    "Oakley Parker Pemberton Quinn Radley Rowe Sutton Thorne Tyler Upton Vaughan "
    "Walsh Webb Whitby Yates Albion Beacon Crown Harbour Meridian Northgate "
    "Pennine Riverside Summit Vale Westfield Kingsway Millbrook Stonebridge"
).split()
SECTORS = (
    "Engineering Ltd",
    "Solutions Limited",
    "Group plc",
    "Partners LLP",
    "Foundation",
    "Housing Association",
    "College",
    "NHS Foundation Trust",
    "Digital Ltd",
    "Construction Ltd",
    "Academy Trust",
    "Consulting",
)
ABBREVIATIONS = {
    "Administration": "Admin",
    "Engineering": "Eng",
    "Management": "Mgmt",
    "Apprenticeship": "Apprenticeship Programme",
    "Limited": "Ltd",
    "Ltd": "Limited",
    "&": "and",
}
NEW_BATCH_SIZE = 10_000


@dataclass(frozen=True)
class District:
    outcode: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Listings:
    records: list[MatchRecord]
    truth: dict[str, str]  # record id -> opportunity id


def load_districts(data_dir: Path) -> list[District]:
    path = data_dir / GEO_FILE
    if not path.is_file():
        return [District(f"ZZ{k}", 51 + k / 100, -1 + k / 100) for k in range(400)]
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if _in_use(r)]
    return [
        District(r["Postcode"], float(r["Latitude"]), float(r["Longitude"]))
        for r in rows
    ]


def _in_use(row: dict[str, str]) -> bool:
    return row["Active postcodes"] not in ("", "0") and bool(row["Latitude"])


def make_listings(size: int, districts: list[District], seed: int = 7) -> Listings:
    """About ``size`` listings (exactly ``size``) of about ``size / 1.7``
    opportunities; record ids are ``L<n>`` in generation order."""
    rng = random.Random(seed)
    builder = _Builder(rng, districts)
    records: list[MatchRecord] = []
    truth: dict[str, str] = {}
    while len(records) < size:
        for record, opportunity in builder.provider_batch():
            if len(records) == size:
                break
            record = replace(record, id=f"L{len(records)}")
            records.append(record)
            truth[record.id] = opportunity
    return Listings(records, truth)


def split_new(
    listings: Listings, new: int, seed: int = 11
) -> tuple[list[MatchRecord], list[MatchRecord]]:
    """(existing, new): ``new`` listings drawn at random, so they include
    re-listings of opportunities the existing ones already hold."""
    rng = random.Random(seed)
    picked = set(rng.sample(range(len(listings.records)), new))
    existing = [r for k, r in enumerate(listings.records) if k not in picked]
    fresh = [r for k, r in enumerate(listings.records) if k in picked]
    return existing, fresh


class _Builder:
    def __init__(self, rng: random.Random, districts: list[District]) -> None:
        self.rng = rng
        self.districts = districts
        self.providers = 0
        self.opportunities = 0

    def provider_batch(self) -> list[tuple[MatchRecord, str]]:
        """Every listing of one provider's opportunities."""
        name = self._provider_name()
        domain = name.split()[0].lower() + str(self.providers) + ".co.uk"
        home = self.rng.choice(self.districts)
        out: list[tuple[MatchRecord, str]] = []
        for title in self._roles():
            for district in self._places(home):
                out.extend(self._opportunity(name, domain, title, district))
        return out

    def _provider_name(self) -> str:
        self.providers += 1
        first, second = self.rng.sample(NAME_PARTS, 2)
        style = self.rng.random()
        stem = (
            first
            if style < 0.4
            else f"{first} {second}"
            if style < 0.8
            else f"{first} & {second}"
        )
        return f"{stem} {self.rng.choice(SECTORS)}"

    def _roles(self) -> list[str]:
        count = min(1 + int(self.rng.paretovariate(1.6)), 40)
        roles = set()
        for _ in range(count):
            kind = self.rng.choice(KINDS)
            n = self.rng.choice((2, 3, 3, 4, 6))
            y = self.rng.choice((10, 11, 12, 13))
            roles.add(kind.format(n=n, f=self.rng.choice(FIELDS), y=y))
        return sorted(roles)

    def _places(self, home: District) -> list[District]:
        extra = int(self.rng.paretovariate(2.5)) - 1
        return [home, *(self.rng.choice(self.districts) for _ in range(min(extra, 8)))]

    def _opportunity(
        self, provider: str, domain: str, title: str, district: District
    ) -> list[tuple[MatchRecord, str]]:
        self.opportunities += 1
        key = f"O{self.opportunities}"
        base = self._base(key, provider, domain, title, district)
        copies = self.rng.choices((1, 2, 3, 4, 5), weights=(50, 27, 13, 6, 4))[0]
        sources = self.rng.sample(SOURCES, copies)
        listings = [replace(base, source=sources[0])]
        listings += [self._perturb(base, source) for source in sources[1:]]
        return [(listing, key) for listing in listings]

    def _base(
        self, key: str, provider: str, domain: str, title: str, district: District
    ) -> MatchRecord:
        rng = self.rng
        closing = date(2026, 1, 1) + timedelta(days=rng.randrange(540))
        pay = float(rng.randrange(14_000, 32_000, 500)) if rng.random() < 0.6 else None
        postcode = f"{district.outcode} {rng.randrange(10)}{_letters(rng)}"
        slug = "-".join(title.lower().replace("(", "").replace(")", "").split())
        return MatchRecord(
            id=key,
            source="",
            title=title,
            provider=provider,
            postcode=postcode,
            lat=district.lat + rng.uniform(-0.01, 0.01),
            lon=district.lon + rng.uniform(-0.01, 0.01),
            closing=closing,
            start=closing + timedelta(days=rng.randrange(30, 120)),
            pay_min=pay,
            pay_max=pay,
            apply_url=f"{domain}/careers/{slug}-{key[1:]}",
            description=f"{provider} offers {title} near {district.outcode}. "
            f"Apply by {closing:%d %B %Y}.",
        )

    def _perturb(self, base: MatchRecord, source: str) -> MatchRecord:
        rng = self.rng
        return replace(
            base,
            source=source,
            title=_perturb_text(rng, base.title or "", 0.35),
            provider=None
            if rng.random() < 0.1
            else _perturb_text(rng, base.provider or "", 0.2),
            postcode=self._moved_postcode(base.postcode),
            lat=None if rng.random() < 0.5 else base.lat,
            lon=None if rng.random() < 0.5 else base.lon,
            closing=_maybe(rng, 0.2, _shift(rng, base.closing)),
            start=_maybe(rng, 0.4, base.start),
            pay_min=_maybe(rng, 0.3, base.pay_min),
            pay_max=_maybe(rng, 0.3, base.pay_max),
            apply_url=_maybe(rng, 0.35, base.apply_url),
            description=_maybe(rng, 0.3, base.description),
        )

    def _moved_postcode(self, postcode: str | None) -> str | None:
        roll = self.rng.random()
        if postcode is None or roll < 0.15:
            return None
        if roll < 0.25:
            return f"{self.rng.choice(self.districts).outcode} 1AA"
        if roll < 0.45:
            return postcode.split()[0] + " 9ZZ"
        return postcode


def _letters(rng: random.Random) -> str:
    return "".join(rng.choices("ABDEFGHJLNPQRSTUWXYZ", k=2))


def _maybe(rng: random.Random, missing: float, value: object) -> object:
    return None if rng.random() < missing else value


def _shift(rng: random.Random, day: date | None) -> date | None:
    if day is None or rng.random() < 0.7:
        return day
    return day + timedelta(days=rng.choice((-2, -1, 1, 3, 28)))


def _perturb_text(rng: random.Random, text: str, chance: float) -> str:
    if rng.random() < chance:
        text = _typo(rng, text)
    if rng.random() < chance / 2:
        words = text.split()
        rng.shuffle(words)
        text = " ".join(words)
    if rng.random() < chance:
        for long, short in ABBREVIATIONS.items():
            if long in text.split():
                text = text.replace(long, short, 1)
                break
    return text


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 4:
        return text
    k = rng.randrange(1, len(text) - 1)
    action = rng.randrange(3)
    if action == 0:
        return text[:k] + text[k + 1 :]
    if action == 1:
        return text[: k - 1] + text[k] + text[k - 1] + text[k + 1 :]
    return text[:k] + rng.choice("aeioutrsn") + text[k + 1 :]
