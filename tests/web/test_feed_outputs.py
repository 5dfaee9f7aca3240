from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import delete

from hub.web.errors import ErrorBody
from hub.web.exports import EXPORTS
from storage.feed import record_change
from storage.models import Opportunity, OpportunityMember
from storage.session import transaction
from tests.web.feed_builders import golden

# \x07 and \x0b are text to JSON but cannot be held by XML at all
HOSTILE_TITLE = '<script>alert(1)</script> & \x07\x0b =HYPERLINK("x")'


@pytest.fixture
def client(feed_db, make_client):
    feed_db.add(
        "opp_a",
        golden(
            "Law Summer School",
            opportunity_type="summer_school",
            sources=["brightpath", "gov_jobs"],
            field_sources={"title": "brightpath", "apply_url": "gov_jobs"},
        ),
    )
    feed_db.add(
        "opp_h",
        golden(
            HOSTILE_TITLE,
            apply_url="javascript:alert(1)",
            provider_url="data:text/html,hi",
            summary="=1+1",
        ),
    )
    feed_db.add("opp_m", golden("Merged Apprenticeship"))
    feed_db.add("opp_d", golden("Deleted Apprenticeship"))
    feed_db.publish()
    with transaction(feed_db.factory) as session:
        merged = session.get(Opportunity, "opp_m")
        merged.state, merged.merged_into = "merged", "opp_a"
        record_change(session, merged, "merged", {"ids": ["opp_a"]})
        session.execute(
            delete(OpportunityMember).where(OpportunityMember.opportunity_id == "opp_d")
        )
    feed_db.publish()
    return make_client()


def test_detail_has_listings_provenance_and_licences(client):
    record = client.get("/opportunities/opp_a").json()
    assert [listing["source"] for listing in record["listings"]] == [
        "brightpath",
        "gov_jobs",
    ]
    assert record["field_sources"] == {
        "title": "brightpath",
        "apply_url": "gov_jobs",
    }
    assert record["also_listed_on"] == ["gov_jobs"]
    assert record["licences"] == ["OGL-UK-3.0"]
    assert record["listings"][0]["attribution"] == "brightpath listings."


@pytest.mark.parametrize(
    ("path", "status", "location"),
    [
        pytest.param("/opportunities/opp_m", 301, "/opportunities/opp_a", id="merged"),
        pytest.param("/opportunities/opp_d", 410, None, id="deleted"),
        pytest.param("/opportunities/opp_nope", 404, None, id="unknown"),
        pytest.param("/opportunities/opp_a", 200, None, id="live"),
    ],
)
def test_detail_status(client, path, status, location):
    response = client.get(path, follow_redirects=False)
    assert response.status_code == status
    if location:
        assert response.headers["location"].endswith(location)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/opportunities", id="list"),
        pytest.param("/opportunities/opp_a", id="detail"),
        pytest.param("/feed", id="feed"),
        pytest.param("/sources", id="sources"),
        pytest.param("/openapi.json", id="openapi"),
        pytest.param("/export.csv", id="streamed-export"),
        pytest.param("/feed.atom", id="streamed-atom"),
    ],
)
def test_every_get_has_an_etag_and_answers_304(client, path):
    first = client.get(path)
    assert first.status_code == 200
    etag = first.headers["etag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = client.get(path, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/opportunities", "/feed", "/export.csv", "/feed.atom", "/no-such-page"],
)
def test_no_answer_leaves_its_content_type_to_be_guessed(client, path):
    assert client.get(path).headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/opportunities",
        "/opportunities/opp_a",
        "/feed",
        "/sources",
        "/coverage",
        "/export.csv",
        "/export.jsonl",
        "/feed.atom",
    ],
)
def test_a_parameter_a_route_does_not_take_is_refused_by_name(client, path):
    wrong = client.get(f"{path}?region=London&regoin=x")
    taken = {"/opportunities": "region"}.get(path)
    refused = [d["parameter"] for d in wrong.json()["error"]["details"]]

    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "unknown_parameter"
    assert refused == [p for p in ("region", "regoin") if p != taken]
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/feed.atom", "/export.jsonld", "/feed.json"])
def test_identities_do_not_depend_on_the_address_asked(client, path):
    """A reader that reaches the server by two names sees each item once."""
    by_ip = client.get(path, headers={"Host": "127.0.0.1:8000"}).text
    by_name = client.get(path, headers={"Host": "feeds.example.org"}).text

    assert _identities(by_ip) == _identities(by_name)
    assert len(_identities(by_ip)) >= 2


def _identities(text: str) -> list[str]:
    """Atom ids, JSON-LD @ids and JSON Feed ids, in order."""
    return re.findall(r'<id>([^<]+)</id>|"@?id": ?"([^"]+)"', text)


def test_openapi_says_what_each_route_answers(client):
    spec = client.get("/openapi.json").json()
    for export in EXPORTS.values():
        answers = spec["paths"][f"/{export.filename}"]["get"]["responses"]
        assert list(answers["200"]["content"]) == [export.media_type]
    assert list(spec["paths"]["/coverage"]["get"]["responses"]["200"]["content"]) == [
        "text/html"
    ]
    error = {"$ref": "#/components/schemas/ErrorBody"}
    for path in ("/opportunities", "/feed", "/coverage", "/export.csv", "/sources"):
        answers = spec["paths"][path]["get"]["responses"]
        for status in ("400", "422"):
            assert answers[status]["content"] == {"application/json": {"schema": error}}


@pytest.mark.parametrize(
    "path",
    ["/opportunities?radius_km=-1", "/feed?x=1", "/coverage?radius_km=-1", "/nowhere"],
)
def test_errors_have_the_documented_shape(client, path):
    answer = client.get(path)
    assert answer.status_code in (400, 404, 422)
    assert ErrorBody.model_validate(answer.json()).error.status == answer.status_code


def test_the_index_links_every_route_and_each_answers(client):
    links = client.get("/").json()["links"]

    assert {"opportunities", "feed", "sources", "coverage", "docs"} <= set(links)
    assert {name: client.get(url).status_code for name, url in links.items()} == {
        name: 200 for name in links
    }


def test_cors_is_open_for_reads_only(client):
    response = client.get("/feed", headers={"Origin": "https://council.example.org"})
    assert response.headers["access-control-allow-origin"] == "*"
    preflight = client.options(
        "/feed",
        headers={
            "Origin": "https://council.example.org",
            "Access-Control-Request-Method": "POST",
        },
    )
    assert preflight.status_code == 400


def test_links_are_http_only_and_text_stays_data(client):
    item = next(
        i for i in client.get("/opportunities").json()["items"] if i["id"] == "opp_h"
    )
    assert item["title"] == HOSTILE_TITLE
    assert item["apply_url"] is None and item["provider_url"] is None


def test_atom_escapes_scraped_text(client):
    body = client.get("/feed.atom").text
    assert "<script>" not in body and "javascript:" not in body
    root = ET.fromstring(body.encode())
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titles = [t.text for t in root.findall("a:entry/a:title", ns)]
    assert '<script>alert(1)</script> &  =HYPERLINK("x")' in titles


def test_csv_cells_never_start_a_formula(client):
    rows = list(csv.DictReader(io.StringIO(client.get("/export.csv").text)))
    hostile = next(row for row in rows if row["id"] == "opp_h")
    assert hostile["apply_url"] == ""
    assert not any(value.startswith("=") for value in hostile.values())


def _jsonl(text):
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize(
    ("path", "media_type", "read_ids"),
    [
        pytest.param(
            "/export.jsonl",
            "application/x-ndjson",
            lambda t: [r["id"] for r in _jsonl(t)],
            id="jsonl",
        ),
        pytest.param(
            "/export.csv",
            "text/csv",
            lambda t: [r["id"] for r in csv.DictReader(io.StringIO(t))],
            id="csv",
        ),
        pytest.param(
            "/export.jsonld",
            "application/ld+json",
            lambda t: [n["@id"].rsplit(":", 1)[1] for n in json.loads(t)["@graph"]],
            id="schema-org",
        ),
        pytest.param(
            "/export.openreferral.json",
            "application/json",
            lambda t: [s["id"] for s in json.loads(t)["content"]],
            id="open-referral",
        ),
        pytest.param(
            "/feed.json",
            "application/feed+json",
            lambda t: [i["id"] for i in json.loads(t)["items"]],
            id="json-feed",
        ),
        pytest.param(
            "/feed.atom",
            "application/atom+xml",
            lambda t: [
                e.text.rsplit(":", 1)[1]
                for e in ET.fromstring(t).iter("{http://www.w3.org/2005/Atom}id")
            ][1:],
            id="atom",
        ),
    ],
)
def test_exports_hold_the_published_opportunities(client, path, media_type, read_ids):
    response = client.get(path)
    assert response.headers["content-type"].startswith(media_type)
    assert sorted(read_ids(response.text)) == ["opp_a", "opp_h"]


def test_schema_org_types_follow_the_opportunity_type(client):
    graph = json.loads(client.get("/export.jsonld").text)["@graph"]
    kinds = {node["@id"].rsplit(":", 1)[1]: node["@type"] for node in graph}
    assert kinds == {"opp_a": "EducationalOccupationalProgram", "opp_h": "JobPosting"}


def test_open_referral_names_licences_and_attributions_as_the_feed_does(client):
    service = json.loads(client.get("/export.openreferral.json").text)["content"][0]
    detail = client.get(f"/opportunities/{service['id']}").json()
    assert service["attributions"] == detail["attributions"]
    assert service["licences"] == detail["licences"]
    assert "attribution" not in service
