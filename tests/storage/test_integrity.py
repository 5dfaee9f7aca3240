"""The integrity checks: a sound database and folder pass, and each kind of
breakage planted in them is reported (SQLite, and PostgreSQL when
HUB_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from dedupe.adapter import match_listings
from hub.web.static import write_static
from storage.feed import publish_feed
from storage.health import record_health
from storage.integrity import (
    Problem,
    check_database,
    check_published_folder,
    list_pending,
)
from storage.lifecycle import hold_run
from storage.models import (
    FeedChange,
    Listing,
    MatchPair,
    Opportunity,
    OpportunityMember,
    Source,
)
from storage.models_feed import OpportunitySearch
from storage.repository import (
    ListingRow,
    finish_crawl_run,
    start_crawl_run,
    upsert_listings,
    upsert_source,
)
from storage.session import make_engine, migrate, session_factory, transaction

pytestmark = pytest.mark.db

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
VACANCIES = [
    ("Data Apprentice", "Riverside Trust", "LS1 4AP"),
    ("Summer School in Law", "Redbrick University", "M1 1AE"),
    ("Coding Bootcamp", "Meridian Software", "B1 1BB"),
    ("Legal Trainee", "Kingsway Solicitors", "SE1 7PB"),
]


def _row(
    number: int, title: str, provider: str, postcode: str, status: str = "active"
) -> ListingRow:
    apply_url = f"https://apply.example.org/{title.replace(' ', '-').lower()}"
    fields = {
        "title": title,
        "provider_name": provider,
        "canonical_apply_url": apply_url,
        "apply_url": apply_url,
        "opportunity_type": "apprenticeship",
        "locations": [{"postcode": postcode, "outcode": postcode.split()[0]}],
    }
    return ListingRow(
        source_key=f"job-{number}",
        url=f"https://jobs.example.org/job/{number}",
        content_hash=f"{title}|{provider}|{number}",
        fetched_at=T0,
        status=status,
        columns={
            "title": title,
            "provider_name": provider,
            "postcode": postcode,
            "outcode": postcode.split()[0],
            "in_scope": True,
            "opportunity_type": "apprenticeship",
        },
        fields=fields,
        raw={},
    )


def _crawl(factory: sessionmaker[Session], source: str, rows: list[ListingRow]) -> int:
    with transaction(factory) as session:
        found = upsert_source(
            session, name=source, spider="schema_org", provider_kind="charity"
        )
        run = start_crawl_run(session, found, None)
        upsert_listings(session, found.id, run.id, rows)
        run_id = run.id
    with transaction(factory) as session:
        finish_crawl_run(session, run_id, "ok", {"store/new": len(rows)})
        record_health(session, run_id)
    return run_id


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    """A sound database: two sources, the second re-posting two vacancies of
    the first, and a vacancy that has closed, matched and published."""
    engine = make_engine(database_url)
    migrate(engine)
    factory = session_factory(engine)
    closed = _row(9, "Finance Trainee", "Stonebridge Bank", "CV1 5FB", "closed")
    _crawl(factory, "board", [*(_row(n, *v) for n, v in enumerate(VACANCIES)), closed])
    _crawl(factory, "site", [_row(10 + n, *v) for n, v in enumerate(VACANCIES[:2])])
    match_listings(factory)
    publish_feed(factory)
    yield factory
    engine.dispose()


def _kinds(problems: list[Problem]) -> set[str]:
    return {problem.kind for problem in problems}


def _found(factory: sessionmaker[Session], *, settled: bool = False) -> list[Problem]:
    with factory() as session:
        return check_database(session, settled=settled)


def _opportunity(session: Session, members: int) -> Opportunity:
    """A live opportunity with this many members."""
    for opportunity in session.scalars(select(Opportunity).order_by(Opportunity.id)):
        if opportunity.state == "live" and len(opportunity.members) == members:
            return opportunity
    raise LookupError(f"no opportunity with {members} members")


def _without_foreign_keys(session: Session) -> None:
    """Let the next statements break references, as a damaged database would."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        session.execute(text("PRAGMA foreign_keys = OFF"))


def test_a_matched_and_published_database_is_sound(factory) -> None:
    with factory() as session:
        merged = _opportunity(session, members=2)

    assert merged is not None
    assert _found(factory, settled=True) == []


# --- breakage, one kind per case ----------------------------------------------


def _unplace_a_listing(session: Session) -> None:
    opportunity = _opportunity(session, members=2)
    session.delete(opportunity.members[0])


def _member_of_missing_listing(session: Session) -> None:
    _without_foreign_keys(session)
    opportunity = _opportunity(session, members=1)
    session.execute(
        text(
            "INSERT INTO opportunity_members (listing_id, opportunity_id, added) "
            "VALUES (99999, :opp, :at)"
        ),
        {"opp": opportunity.id, "at": T0},
    )


def _member_of_missing_opportunity(session: Session) -> None:
    _without_foreign_keys(session)
    member = _opportunity(session, members=2).members[0]
    session.execute(
        update(OpportunityMember)
        .where(OpportunityMember.listing_id == member.listing_id)
        .values(opportunity_id="opp_missing")
    )


def _pair_of_missing_listing(session: Session) -> None:
    _without_foreign_keys(session)
    listing = session.scalars(select(Listing.id)).first()
    session.add(MatchPair(listing_a=listing, listing_b=99999, score=90, band="auto"))


def _mark_of_missing_listing(session: Session) -> None:
    _without_foreign_keys(session)
    session.execute(
        text(
            "INSERT INTO matched_listings (listing_id, changed_run_id, record, matched)"
            " VALUES (99999, 1, '{}', :at)"
        ),
        {"at": T0},
    )


def _live_without_members(session: Session) -> None:
    session.add(Opportunity(id="opp_empty", state="live", created=T0, modified=T0))


def _merged_with_members(session: Session) -> None:
    one, other = (
        _opportunity(session, members=2),
        _opportunity(session, members=1),
    )
    one.state, one.merged_into = "merged", other.id


def _merged_into_nothing(session: Session) -> None:
    session.add(Opportunity(id="opp_lost", state="merged", created=T0, modified=T0))


def _merged_in_a_cycle(session: Session) -> None:
    for own in ("opp_x", "opp_y"):
        session.add(Opportunity(id=own, state="merged", created=T0, modified=T0))
    session.flush()
    for own, into in (("opp_x", "opp_y"), ("opp_y", "opp_x")):
        session.get_one(Opportunity, own).merged_into = into


def _unknown_state(session: Session) -> None:
    _opportunity(session, members=1).state = "archived"


def _gap_in_change_numbers(session: Session) -> None:
    last = session.scalar(select(FeedChange).order_by(FeedChange.change_no.desc()))
    opportunity = session.get_one(Opportunity, last.opportunity_id)
    last.change_no += 3
    session.flush()
    opportunity.change_no = last.change_no


def _repeated_stamp(session: Session) -> None:
    first, second = session.scalars(
        select(FeedChange).order_by(FeedChange.change_no).limit(2)
    ).all()
    second.at = first.at
    session.get_one(Opportunity, second.opportunity_id).modified = first.at


def _stamp_going_back(session: Session) -> None:
    first, second = session.scalars(
        select(FeedChange).order_by(FeedChange.change_no).limit(2)
    ).all()
    second.at = first.at - timedelta(seconds=1)
    session.get_one(Opportunity, second.opportunity_id).modified = second.at


def _repeated_change_number(session: Session) -> None:
    one, other = session.scalars(
        select(Opportunity).where(Opportunity.change_no > 0).limit(2)
    ).all()
    other.change_no, other.modified = one.change_no, one.modified


def _modified_not_its_change(session: Session) -> None:
    opportunity = _opportunity(session, members=1)
    opportunity.modified = opportunity.modified + timedelta(hours=1)


def _change_of_missing_opportunity(session: Session) -> None:
    last = session.scalar(select(FeedChange).order_by(FeedChange.change_no.desc()))
    session.add(
        FeedChange(
            change_no=last.change_no + 1,
            opportunity_id="opp_never",
            kind="updated",
            at=last.at + timedelta(seconds=1),
        )
    )


def _unknown_change_kind(session: Session) -> None:
    session.scalar(select(FeedChange).order_by(FeedChange.change_no)).kind = "moved"


BREAKAGE: list[tuple[str, Callable[[Session], None], str]] = [
    ("a matched listing in no opportunity", _unplace_a_listing, "listing_unplaced"),
    ("a member of a missing listing", _member_of_missing_listing, "orphan_member"),
    (
        "a member of a missing opportunity",
        _member_of_missing_opportunity,
        "orphan_member",
    ),
    ("a match pair of a missing listing", _pair_of_missing_listing, "orphan_pair"),
    ("a match mark of a missing listing", _mark_of_missing_listing, "orphan_mark"),
    ("a live opportunity without members", _live_without_members, "memberless"),
    (
        "a merged opportunity keeping members",
        _merged_with_members,
        "merged_with_members",
    ),
    ("a merge into nothing", _merged_into_nothing, "merged_into"),
    ("two opportunities merged into each other", _merged_in_a_cycle, "merged_into"),
    ("a state the model does not have", _unknown_state, "unknown_state"),
    ("a gap in the change numbers", _gap_in_change_numbers, "change_numbers"),
    ("two changes stamped alike", _repeated_stamp, "change_stamps"),
    ("a later change stamped earlier", _stamp_going_back, "change_stamps"),
    (
        "two opportunities with one change number",
        _repeated_change_number,
        "opportunity_change",
    ),
    (
        "a modified stamp not its change's",
        _modified_not_its_change,
        "opportunity_change",
    ),
    (
        "a change of a missing opportunity",
        _change_of_missing_opportunity,
        "orphan_change",
    ),
    ("a change kind the feed does not have", _unknown_change_kind, "change_kind"),
]


@pytest.mark.parametrize(
    ("plant", "kind"),
    [
        pytest.param(plant, kind, id=description)
        for description, plant, kind in BREAKAGE
    ],
)
def test_each_planted_breakage_is_reported(factory, plant, kind) -> None:
    with transaction(factory) as session:
        plant(session)

    found = _found(factory)

    assert kind in _kinds(found), [str(p) for p in found]
    assert not any(p.pending for p in found)


# --- pending work: allowed after a crash, not after a run that ended ----------


def _stored_not_matched(session: Session) -> None:
    source = session.scalar(select(Source).where(Source.name == "site"))
    run = start_crawl_run(session, source, None)
    upsert_listings(
        session,
        source.id,
        run.id,
        [_row(50, "Finance Trainee", "Stonebridge Bank", "CV1 5FB")],
    )
    finish_crawl_run(session, run.id, "ok", {})
    record_health(session, run.id)


def _closed_not_published(session: Session) -> None:
    listing = _opportunity(session, members=1).members[0].listing
    listing.status = "closed"


def _matched_not_published(session: Session) -> None:
    opportunity = _opportunity(session, members=1)
    opportunity.golden = {**opportunity.golden, "title": "Retitled"}


def _search_row_missing(session: Session) -> None:
    opportunity = _opportunity(session, members=1)
    session.execute(
        delete(OpportunitySearch).where(
            OpportunitySearch.opportunity_id == opportunity.id
        )
    )


def _run_left_running(session: Session) -> None:
    start_crawl_run(session, session.scalar(select(Source)), None)


def _run_not_judged(session: Session) -> None:
    run = start_crawl_run(session, session.scalar(select(Source)), None)
    finish_crawl_run(session, run.id, "ok", {})


PENDING_WORK: list[tuple[str, Callable[[Session], None], str]] = [
    ("a listing stored since the last match", _stored_not_matched, "awaiting_match"),
    ("a member closed since publishing", _closed_not_published, "awaiting_publish"),
    ("a record rewritten since publishing", _matched_not_published, "awaiting_publish"),
    ("a search row not written", _search_row_missing, "index_behind"),
    ("a crawl run its killed job left running", _run_left_running, "run_interrupted"),
    ("a finished run without a verdict", _run_not_judged, "run_not_judged"),
]


@pytest.mark.parametrize(
    ("plant", "kind"),
    [
        pytest.param(plant, kind, id=description)
        for description, plant, kind in PENDING_WORK
    ],
)
def test_pending_work_is_no_problem_until_the_run_should_have_ended(
    factory, plant, kind
) -> None:
    with transaction(factory) as session:
        plant(session)

    with factory() as session:
        pending = list_pending(session)

    assert _found(factory) == []
    assert kind in _kinds(pending)
    assert kind in _kinds(_found(factory, settled=True))


def test_a_crawl_under_way_is_pending_work_too(factory) -> None:
    with transaction(factory) as session:
        run_id = start_crawl_run(session, session.scalar(select(Source)), None).id
    engine = factory.kw["bind"]

    with hold_run(engine, run_id), factory() as session:
        kinds = _kinds(list_pending(session))

    assert "run_still_running" in kinds
    assert "run_interrupted" not in kinds


def test_the_next_match_and_publish_do_the_pending_work(factory) -> None:
    with transaction(factory) as session:
        _stored_not_matched(session)
        _closed_not_published(session)

    match_listings(factory)
    publish_feed(factory)

    assert _found(factory, settled=True) == []


# --- a published folder ----------------------------------------------------------


@pytest.fixture
def site(factory, tmp_path: Path) -> Path:
    out = tmp_path / "site" / "feed"
    write_static(factory, out, page_size=2)
    return out


def _edit_json(path: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def _drop_an_export(out: Path) -> None:
    (out / "export.csv").unlink()


def _second_page(out: Path) -> Path:
    start = json.loads((out / "feed" / "start.json").read_text(encoding="utf-8"))
    return out / "feed" / start["next"]


def _cut_a_page_short(out: Path) -> None:
    page = _second_page(out)
    page.write_bytes(page.read_bytes()[:40])


def _lose_a_page(out: Path) -> None:
    _second_page(out).unlink()


def _break_the_chain(out: Path) -> None:
    following = json.loads(_second_page(out).read_text(encoding="utf-8"))["next"]
    _edit_json(out / "feed" / "start.json", lambda p: p.update(next=following))


def _mix_in_another_export(out: Path) -> None:
    export = out / "export.jsonl"
    export.write_text("".join(export.read_text().splitlines(True)[1:]))


def _miscount_in_the_index(out: Path) -> None:
    _edit_json(out / "index.json", lambda i: i.update(feed_items=i["feed_items"] + 1))


def _leave_an_unfinished_folder(out: Path) -> None:
    shutil.copytree(out.resolve(), out.parent / f"{out.name}.tmp-abc123")


def _lose_the_index(out: Path) -> None:
    (out / "index.json").unlink()


FOLDER_BREAKAGE: list[tuple[str, Callable[[Path], None], str]] = [
    ("an export missing", _drop_an_export, "missing_file"),
    ("a page cut short", _cut_a_page_short, "unreadable_file"),
    ("a page missing", _lose_a_page, "missing_file"),
    ("a page leading elsewhere", _break_the_chain, "page_chain"),
    ("an export of another state", _mix_in_another_export, "mixed_folder"),
    ("an index counting other pages", _miscount_in_the_index, "mixed_folder"),
    (
        "an unfinished folder beside the link",
        _leave_an_unfinished_folder,
        "unfinished_folder",
    ),
    ("no index", _lose_the_index, "missing_file"),
]


def test_a_published_folder_is_complete_and_consistent(site: Path) -> None:
    """The pages hold the closed opportunity too, the exports only live ones."""
    assert check_published_folder(site) == []


@pytest.mark.parametrize(
    ("plant", "kind"),
    [pytest.param(p, k, id=description) for description, p, k in FOLDER_BREAKAGE],
)
def test_each_folder_breakage_is_reported(site: Path, plant, kind) -> None:
    plant(site)

    assert kind in _kinds(check_published_folder(site))


def test_a_folder_never_published_is_reported(tmp_path: Path) -> None:
    assert _kinds(check_published_folder(tmp_path / "nothing")) == {"folder"}
