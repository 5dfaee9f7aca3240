"""The one item vocabulary shared by spiders, pipelines, storage and the feed.

A spider fills a :class:`ListingItem` with what the source says, as close to the
source's own words as it can (``*_text`` fields, ``raw``). The pipelines then fill
the normalised fields (``closing_date``, ``pay``, ``locations``, ``opportunity_type``
and so on) from those words, keeping the text beside each parsed value.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


class ProviderKind(enum.StrEnum):
    CHARITY = "charity"
    EMPLOYER = "employer"
    GOVERNMENT = "government"
    AGGREGATOR = "aggregator"


class OpportunityType(enum.StrEnum):
    APPRENTICESHIP = "apprenticeship"
    TRAINEESHIP = "traineeship"
    INTERNSHIP = "internship"
    PLACEMENT = "placement"
    WORK_EXPERIENCE = "work_experience"
    INSIGHT_DAY = "insight_day"
    GRADUATE_SCHEME = "graduate_scheme"
    SUMMER_SCHOOL = "summer_school"
    UNIVERSITY_ACCESS = "university_access_programme"
    MENTORING = "mentoring"
    SKILLS_PROGRAMME = "skills_programme"
    VOLUNTEERING = "volunteering"
    JOB = "job"


class Mode(enum.StrEnum):
    IN_PERSON = "in_person"
    REMOTE = "remote"
    HYBRID = "hybrid"
    NATIONAL = "national"


class PayPeriod(enum.StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    ONE_OFF = "one_off"


@dataclass
class Pay:
    """Pay or support offered. Amounts are in ``currency``; ``annual_gbp`` only
    where the period is known."""

    text: str | None = None
    min: float | None = None
    max: float | None = None
    currency: str | None = None
    period: PayPeriod | None = None
    period_inferred: bool = False
    annual_min_gbp: float | None = None
    annual_max_gbp: float | None = None
    pro_rata: bool = False
    unpaid: bool = False
    undisclosed: bool = False
    bursary: bool = False
    expenses: bool = False


@dataclass
class Location:
    text: str | None = None
    postcode: str | None = None
    outcode: str | None = None
    lat: float | None = None
    lon: float | None = None
    local_authority: str | None = None
    local_authority_code: str | None = None
    region: str | None = None
    nation: str | None = None
    country: str | None = None


@dataclass
class Eligibility:
    age_min: int | None = None
    age_max: int | None = None
    school_years: list[str] = field(default_factory=list)
    criteria: list[str] = field(default_factory=list)
    # criterion (or "age", "school_years") -> the sentence it came from
    evidence: dict[str, str] = field(default_factory=dict)


@dataclass
class ListingItem:
    """What one source says about one opportunity."""

    # identity, set by the spider
    source: str
    source_key: str
    url: str
    fetched_at: datetime

    # what the source says, in its own words
    title: str | None = None
    provider_name: str | None = None
    provider_url: str | None = None
    location_texts: list[str] = field(default_factory=list)
    postcodes: list[str] = field(default_factory=list)
    coordinates: list[tuple[float, float]] = field(default_factory=list)
    pay_text: str | None = None
    base_salary: dict[str, Any] | None = None
    closing_text: str | None = None
    posted_text: str | None = None
    start_text: str | None = None
    description_html: str | None = None
    employment_type: str | None = None
    workplace_type: str | None = None
    reference: str | None = None
    apply_url: str | None = None
    categories: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    # added for courses, events, programmes and apprenticeship adverts
    alternate_title: str | None = None
    end_text: str | None = None
    opens_text: str | None = None
    cost_text: str | None = None
    duration_text: str | None = None
    hours_text: str | None = None
    level_text: str | None = None
    training_provider_name: str | None = None
    positions: int | None = None

    # normalised by the pipelines
    summary: str | None = None
    description_text: str | None = None
    description_safe_html: str | None = None
    closing_date: datetime | None = None
    opens_date: datetime | None = None
    posted_date: datetime | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    pay: Pay | None = None
    # what taking part costs the participant, and the support offered
    cost: Pay | None = None
    support: list[str] = field(default_factory=list)
    support_evidence: dict[str, str] = field(default_factory=dict)
    locations: list[Location] = field(default_factory=list)
    mode: Mode | None = None
    opportunity_type: OpportunityType | None = None
    level: int | None = None
    in_scope: bool = False
    eligibility: Eligibility | None = None
    canonical_url: str | None = None
    canonical_apply_url: str | None = None
    # field name -> why it could not be parsed (the text is kept in its *_text field)
    parse_failures: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
