from __future__ import annotations

import base64
from pathlib import Path

import pytest

from hub.web.search import OpportunityQuery
from tests.web.feed_builders import T0, days, golden, place


@pytest.fixture
def client(feed_db, make_client):
    rows = {
        "opp_a": golden(
            "Engineering Apprenticeship",
            closing_date=(T0 + days(10)).isoformat(),
            posted_date=(T0 - days(3)).isoformat(),
            eligibility={
                "age_min": 16,
                "age_max": 18,
                "criteria": ["care_experienced"],
            },
        ),
        "opp_b": golden(
            "Law Summer School",
            opportunity_type="summer_school",
            closing_date=(T0 + days(5)).isoformat(),
            posted_date=(T0 - days(1)).isoformat(),
            locations=[place("M1")],
            mode="hybrid",
            sources=["brightpath", "gov_jobs"],
        ),
        "opp_c": golden(
            "Remote Mentoring",
            opportunity_type="mentoring",
            closing_date=(T0 + days(20)).isoformat(),
            posted_date=(T0 - days(9)).isoformat(),
            locations=[place("SE1")],
            mode="remote",
            eligibility={"age_min": 19, "age_max": None, "criteria": []},
        ),
        "opp_d": golden(
            "Porter",
            opportunity_type="job",
            in_scope=False,
            locations=[place("TS4")],
            sources=["gov_jobs"],
        ),
        "opp_e": golden(
            "Rolling Apprenticeship",
            closing_date=None,
            posted_date=(T0 - days(2)).isoformat(),
            locations=[place("TS4")],
        ),
    }
    for opportunity_id, record in rows.items():
        feed_db.add(opportunity_id, record)
    feed_db.publish()
    return make_client()


DISTANCE = {"near": "SE1", "radius_km": 200, "sort": "distance"}


def ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param(
            {}, ["opp_b", "opp_a", "opp_c", "opp_e"], id="published-by-closing"
        ),
        pytest.param({"in_scope": "false"}, ["opp_d"], id="out-of-scope-only"),
        pytest.param({"type": "summer_school"}, ["opp_b"], id="one-type"),
        pytest.param({"type": " Summer_School"}, ["opp_b"], id="type-any-case"),
        pytest.param(
            {"type": ["summer_school", "mentoring"]}, ["opp_b", "opp_c"], id="two-types"
        ),
        pytest.param({"q": "law school"}, ["opp_b"], id="text-all-words"),
        pytest.param({"q": "LAW"}, ["opp_b"], id="text-any-case"),
        pytest.param({"q": "100%_"}, [], id="text-wildcards-are-literal"),
        pytest.param({"region": "north west"}, ["opp_b"], id="region"),
        pytest.param({"region": "NORTH West"}, ["opp_b"], id="region-any-case"),
        pytest.param(
            {"region": "England"}, ["opp_b", "opp_a", "opp_c", "opp_e"], id="nation"
        ),
        pytest.param({"local_authority": "Southwark"}, ["opp_c"], id="authority-name"),
        pytest.param(
            {"local_authority": "  southwark "}, ["opp_c"], id="authority-spelling"
        ),
        pytest.param({"local_authority": "E06000002"}, ["opp_e"], id="authority-code"),
        pytest.param({"mode": "remote"}, ["opp_c"], id="mode"),
        pytest.param({"age": 17}, ["opp_b", "opp_a", "opp_e"], id="age-in-range"),
        pytest.param({"age": 30}, ["opp_b", "opp_c", "opp_e"], id="age-above-max"),
        pytest.param(
            {"closing_after": (T0 + days(7)).isoformat()},
            ["opp_a", "opp_c", "opp_e"],
            id="closing-after-keeps-no-deadline",
        ),
        pytest.param({"criteria": "care_experienced"}, ["opp_a"], id="criterion"),
        pytest.param(
            {"criteria": [" Care_Experienced", "care_experienced"] * 600},
            ["opp_a"],
            id="criterion-any-case-many-times",
        ),
        pytest.param({"provider_kind": "government"}, ["opp_b"], id="provider-kind"),
        pytest.param(
            {"source": "gov_jobs", "in_scope": "any"}, ["opp_b", "opp_d"], id="source"
        ),
        pytest.param(
            {"source": ["GOV_JOBS", "brightpath"], "type": "job", "in_scope": "any"},
            ["opp_d"],
            id="sources-any-of",
        ),
        pytest.param(
            {"near": "SW1A 1AA", "radius_km": 10}, ["opp_a", "opp_c"], id="near-radius"
        ),
        pytest.param(
            {"near": "sw1a1aa", "radius_km": 10, "sort": "distance"},
            ["opp_a", "opp_c"],
            id="near-by-distance",
        ),
        pytest.param(
            {"near": "SE1", "radius_km": 200, "sort": "distance"},
            ["opp_c", "opp_a"],
            id="outcode-only-centre",
        ),
        pytest.param(
            {"sort": "newest"}, ["opp_b", "opp_e", "opp_a", "opp_c"], id="newest-first"
        ),
    ],
)
def test_filters_and_sorts(client, params, expected):
    assert ids(client.get("/opportunities", params=params)) == expected


@pytest.mark.parametrize(
    "name",
    [
        "q", "type", "in_scope", "region", "local_authority", "near", "radius_km",
        "mode", "age", "closing_after", "criteria", "provider_kind", "source",
        "sort", "limit", "cursor",
    ],
)  # fmt: skip
def test_an_empty_value_is_taken_as_not_given(client, name):
    """As a form's unfilled field sends it: ``region=`` is no region filter,
    for every parameter alike, not a 422 for some and ignored for others."""
    everything = client.get("/opportunities")
    assert client.get("/opportunities", params={name: ""}).json() == everything.json()
    assert client.get("/opportunities", params={name: " "}).json() == everything.json()


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"near": "", "radius_km": "25"}, id="radius"),
        pytest.param({"near": " ", "sort": "distance"}, id="sort by distance"),
    ],
)
def test_an_empty_postcode_takes_its_radius_and_distance_sort_with_it(client, params):
    """A form whose postcode box is empty sends its pre-filled radius too."""
    answer = client.get("/opportunities", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.json() == client.get("/opportunities").json()


def test_a_radius_without_any_postcode_is_still_an_error(client):
    answer = client.get("/opportunities", params={"radius_km": "25"})
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["parameter"] == "radius_km"


@pytest.mark.parametrize(
    ("name", "spelled"),
    [
        ("mode", "Remote"),
        ("sort", " Newest"),
        ("in_scope", "ANY"),
        ("provider_kind", "Charity"),
    ],
)
def test_a_named_value_is_read_in_any_case(client, name, spelled):
    answer = client.get("/opportunities", params={name: spelled})
    folded = client.get("/opportunities", params={name: spelled.strip().lower()})
    assert answer.status_code == 200, answer.text
    assert answer.json() == folded.json()


def without_next(answer):
    """The answer but for a JSON page's link onwards, which keeps the tags."""
    if answer.headers["content-type"] != "application/json":
        return answer.content
    return {k: v for k, v in answer.json().items() if k != "next"}


@pytest.mark.parametrize(
    "path", ["/opportunities", "/opportunities/opp_a", "/feed", "/export.csv"]
)
def test_what_a_shared_link_gathers_is_ignored(client, path):
    """A link shared with campaign tags, a click id or a script's cache buster
    answers as without them; any other unknown parameter is still a 400."""
    gathered = {"utm_source": "newsletter", "fbclid": "x1", "_": "1733400000"}
    answer = client.get(path, params=gathered)
    assert answer.status_code == 200, answer.text
    assert without_next(answer) == without_next(client.get(path))

    refused = client.get(path, params={"utm": "x"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "unknown_parameter"


def test_an_empty_one_of_repeated_values_is_dropped(client):
    given = client.get("/opportunities", params={"type": ["", "mentoring", " "]})
    assert ids(given) == ids(client.get("/opportunities", params={"type": "mentoring"}))
    assert ids(given) == ["opp_c"]


def test_an_empty_feed_position_is_the_feed_from_its_start(client):
    start = client.get("/feed")
    empty = client.get("/feed", params={"afterTimestamp": "", "afterId": ""})
    assert empty.status_code == 200
    assert empty.json()["items"] == start.json()["items"]


def test_distance_is_reported_in_km(client):
    items = client.get(
        "/opportunities", params={"near": "SW1A 1AA", "sort": "distance"}
    ).json()["items"]
    assert items[0]["distance_km"] == 0.0
    assert 3.0 < items[1]["distance_km"] < 4.5  # SW1A to SE1 is about 3.7 km


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({}, id="by-closing"),
        pytest.param({"sort": "newest"}, id="newest"),
        pytest.param(
            {"near": "SE1", "radius_km": 200, "sort": "distance"}, id="distance"
        ),
    ],
)
def test_cursor_pages_add_up_to_the_whole_list(client, params):
    whole = ids(client.get("/opportunities", params={**params, "limit": 100}))
    seen: list[str] = []
    response = client.get("/opportunities", params={**params, "limit": 1})
    while True:
        seen += ids(response)
        if response.json()["next"] is None:
            break
        response = client.get(response.json()["next"])
    assert seen == whole
    assert len(whole) >= 2


def test_cursor_is_opaque_and_bound_to_its_query(client):
    first = client.get("/opportunities", params={"limit": 1}).json()
    cursor = first["next"].split("cursor=")[1]
    assert "opp_" not in cursor
    other = client.get(
        "/opportunities", params={"limit": 1, "type": "job", "cursor": cursor}
    )
    assert other.status_code == 400
    assert other.json()["error"]["code"] == "cursor_mismatch"


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        pytest.param({"near": "HELLO"}, 422, "invalid_postcode", id="bad-postcode"),
        pytest.param(
            {"near": "ZE9 9ZZ"}, 422, "unknown_postcode", id="unknown-district"
        ),
        pytest.param(
            {"near": "SW1A", "radius_km": 0}, 422, "invalid_parameter", id="radius-0"
        ),
        pytest.param(
            {"near": "SW1A", "radius_km": 201},
            422,
            "invalid_parameter",
            id="radius-big",
        ),
        pytest.param(
            {"radius_km": "far"}, 422, "invalid_parameter", id="radius-not-number"
        ),
        pytest.param(
            {"near": "SW1A", "radius_km": "nan"},
            422,
            "invalid_parameter",
            id="radius-nan",
        ),
        pytest.param(
            {"radius_km": 5}, 422, "invalid_parameter", id="radius-needs-near"
        ),
        pytest.param(
            [("near", "SW1A"), ("near", "OX3")],
            400,
            "repeated_parameter",
            id="near-twice",
        ),
        pytest.param({"colour": "red"}, 400, "unknown_parameter", id="unknown-filter"),
        pytest.param({"limit": 101}, 422, "invalid_parameter", id="page-too-big"),
        pytest.param(
            {"sort": "distance"}, 422, "invalid_parameter", id="distance-needs-near"
        ),
        pytest.param({"sort": "random"}, 422, "invalid_parameter", id="unknown-sort"),
        pytest.param({"mode": "teleport"}, 422, "invalid_parameter", id="unknown-mode"),
        pytest.param(
            {"type": "apprentice"}, 422, "invalid_parameter", id="unknown-type"
        ),
        pytest.param(
            {"closing_after": "soon"}, 422, "invalid_parameter", id="bad-date"
        ),
        pytest.param(
            {"criteria": "free_meals"}, 422, "invalid_parameter", id="unknown-criterion"
        ),
        pytest.param(
            {"region": "Atlantis"}, 422, "unknown_region", id="unknown-region"
        ),
        pytest.param(
            {"local_authority": "Gotham"},
            422,
            "unknown_local_authority",
            id="unknown-authority",
        ),
        pytest.param(
            {"source": ["gov_jobs", "gov_jbos"]},
            422,
            "unknown_source",
            id="unknown-source",
        ),
        pytest.param({"cursor": "!!!"}, 400, "invalid_cursor", id="bad-cursor"),
        pytest.param(
            {"cursor": "eyJrIjoxfQ"}, 400, "invalid_cursor", id="cursor-missing-keys"
        ),
    ],
)
def test_bad_parameters_get_clear_json_errors(client, params, status, code):
    response = client.get("/opportunities", params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def _hand_made(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("params", "key", "last_id"),
    [
        pytest.param({}, '"2020-11-08"', '"x"', id="a date"),
        pytest.param({}, '"2020-11-08T00:00:00"', '"x"', id="no offset"),
        pytest.param({"sort": "newest"}, '"2020-11-06T11:15:45"', '"x"', id="newest"),
        pytest.param({}, "17", '"x"', id="a number for an instant"),
        pytest.param({}, '"2020-11-08T00:00:00+00:00"', "null", id="no id"),
        pytest.param({}, '"2020-11-08T00:00:00+00:00"', '["x"]', id="a list id"),
        pytest.param(DISTANCE, "true", '"x"', id="true for a distance"),
        pytest.param(DISTANCE, "NaN", '"x"', id="nan"),
        pytest.param(DISTANCE, "1e400", '"x"', id="infinite"),
        pytest.param(DISTANCE, '"near"', '"x"', id="text for a distance"),
    ],
)
def test_a_hand_made_cursor_is_a_400_whatever_its_keys(client, params, key, last_id):
    """A cursor is only base64: one made with the right query stamp and keys
    of the wrong kind must not reach the database."""
    query = OpportunityQuery(**params)
    stamp = query.filter_digest()
    cursor = _hand_made(f'{{"s":"{query.sort}","k":{key},"i":{last_id},"f":"{stamp}"}}')
    response = client.get("/opportunities", params={**params, "cursor": cursor})

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_cursor"


def test_an_unknown_place_or_source_is_named_in_the_error(client):
    region = client.get("/opportunities", params={"region": "Atlantis"}).json()
    assert "'Atlantis'" in region["error"]["message"]
    assert "North West" in region["error"]["details"][0]["message"]
    source = client.get("/opportunities", params={"source": ["gov_jbos", "x"]}).json()
    assert source["error"]["message"] == "unknown source(s): 'gov_jbos', 'x'"
    assert source["error"]["details"][0]["parameter"] == "source"


def test_the_criteria_a_search_takes_are_in_the_openapi_description(client):
    spec = client.get("/openapi.json").json()
    parameters = spec["paths"]["/opportunities"]["get"]["parameters"]
    (criteria,) = [p for p in parameters if p["name"] == "criteria"]
    assert "free_school_meals" in criteria["schema"]["items"]["enum"]


def test_without_geography_places_are_taken_as_given(feed_db):
    from hub.web.app import create_app
    from tests.web.conftest import TestClient

    feed_db.add("opp_a", golden("Apprenticeship", locations=[place("M1")]))
    feed_db.publish()
    app = create_app(feed_db.url, geo_dir=None)
    app.state.hub.geo_dir = None
    with TestClient(app) as client:
        known = client.get("/opportunities", params={"region": "north west"})
        unknown = client.get("/opportunities", params={"region": "Atlantis"})
    app.state.hub.close()
    assert ids(known) == ["opp_a"]
    assert ids(unknown) == []


def test_unreadable_geography_fails_searches_by_place_only(feed_db, tmp_path):
    from hub.web.app import create_app
    from tests.web.conftest import TestClient

    feed_db.add("opp_a", golden("Apprenticeship", locations=[place("M1")]))
    feed_db.publish()
    app = create_app(feed_db.url, geo_dir=str(tmp_path / "missing"))
    with TestClient(app) as client:
        plain = client.get("/opportunities")
        by_place = [
            client.get("/opportunities", params=params)
            for params in ({"region": "north west"}, {"near": "M1"})
        ]
    app.state.hub.close()
    assert ids(plain) == ["opp_a"]
    for response in by_place:
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "no_geography"


def test_postcode_search_without_geography_says_so(feed_db):
    from hub.web.app import create_app
    from tests.web.conftest import TestClient

    app = create_app(feed_db.url, geo_dir=None)
    app.state.hub.geo_dir = None
    with TestClient(app) as client:
        response = client.get("/opportunities", params={"near": "SW1A 1AA"})
    app.state.hub.close()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "no_geography"


NEAR = [
    {"near": "SW1A 1AA", "radius_km": 10},
    {"near": "SE1", "radius_km": 200, "in_scope": "any"},
    {"near": "SE1", "radius_km": 200, "sort": "newest"},
    {"near": "SE1", "radius_km": 200, "sort": "distance", "in_scope": "any"},
    {"near": "TS4", "radius_km": 150, "sort": "distance"},
]


def pages(client, params):
    """Every id of the query, one page of one at a time."""
    seen: list[str] = []
    response = client.get("/opportunities", params={**params, "limit": 1})
    while True:
        seen += ids(response)
        if response.json()["next"] is None:
            return seen
        response = client.get(response.json()["next"])


@pytest.mark.parametrize("params", NEAR)
def test_crowded_and_sparse_circles_answer_alike(
    client, make_client, params, monkeypatch
):
    import hub.web.search as search

    # keeping no answers: each query below must be searched again
    client = make_client(answer_cache_mb=0)
    sparse = ids(client.get("/opportunities", params=params))
    paged = pages(client, params)
    # every circle crowded: the sort order walked and each row's distance tested
    monkeypatch.setattr(search, "CROWDED_PLACES", 1)
    assert ids(client.get("/opportunities", params=params)) == sparse
    # by distance: a page found within a small share of the radius, or not
    monkeypatch.setattr(search, "NEAREST_SHARES", (0.01, 0.02, 0.5, 1.0))
    assert pages(client, params) == paged
    assert sparse and paged == sparse


def test_a_provider_kind_changed_in_the_registry_is_published(client, feed_db):
    """No listing changes, yet the filter and the change feed must follow."""
    from sqlalchemy import update

    from storage.models import Source
    from storage.session import transaction

    kinds = {"provider_kind": "employer", "in_scope": "any"}
    assert ids(client.get("/opportunities", params=kinds)) == []
    end = client.get("/feed", params={"limit": 500}).json()["next"]
    assert client.get(end).json()["items"] == []
    with transaction(feed_db.factory) as session:
        session.execute(
            update(Source)
            .where(Source.name == "brightpath")
            .values(provider_kind="employer")
        )
    feed_db.publish()

    from_brightpath = ["opp_a", "opp_b", "opp_c", "opp_e"]  # opp_d: gov_jobs only
    assert sorted(ids(client.get("/opportunities", params=kinds))) == from_brightpath
    changed = [item["id"] for item in client.get(end).json()["items"]]
    assert sorted(changed) == from_brightpath


SHARED_GEO = Path(__file__).resolve().parents[3] / "shared" / "data" / "geo"


@pytest.mark.skipif(not SHARED_GEO.is_dir(), reason="shared geography not found")
def test_a_name_of_several_authorities_is_a_422_naming_them(feed_db):
    from hub.web.app import create_app
    from tests.web.conftest import TestClient

    app = create_app(feed_db.url, geo_dir=str(SHARED_GEO))
    with TestClient(app) as client:
        response = client.get("/opportunities", params={"local_authority": "Kingston"})
    app.state.hub.close()
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "ambiguous_local_authority"
    assert "Kingston upon Hull (E06000010)" in error["message"]
    assert "Kingston upon Thames" in error["message"]
