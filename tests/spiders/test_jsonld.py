from __future__ import annotations

import pytest

from spiders.jsonld import extract_entities, types_of

GRAPH_PAGE = """
<script type="application/ld+json" class="yoast-schema-graph">
{"@context":"https://schema.org","@graph":[
  {"@type":"WebPage","@id":"https://northfield.example.org/m/#webpage",
   "name":"Mentoring | Northfield Futures"},
  {"@type":"Organization","@id":"https://northfield.example.org/#org",
   "name":"Northfield Futures CIC"},
  {"@type":["JobPosting"],"@id":"https://northfield.example.org/m/#job",
   "title":"Peer Mentor (Volunteer)",
   "hiringOrganization":{"@id":"https://northfield.example.org/#org"},
   "validThrough":"2026-07-31"}
]}
</script>
<script type="application/ld+json">
[{"@context":"https://schema.org","@type":"Event","name":"Mentor Training Day 1"},
 {"@context":"https://schema.org","@type":"Event","name":"Mentor Training Day 2"}]
</script>
"""


def test_graph_and_arrays_are_flattened():
    entities = extract_entities(GRAPH_PAGE).entities

    assert [sorted(types_of(e))[0] for e in entities] == [
        "WebPage",
        "Organization",
        "JobPosting",
        "Event",
        "Event",
    ]


def test_graph_members_inherit_context_and_references_resolve():
    posting = extract_entities(GRAPH_PAGE).entities[2]

    assert posting["@context"] == "https://schema.org"
    assert posting["hiringOrganization"]["name"] == "Northfield Futures CIC"


@pytest.mark.parametrize(
    "script",
    [
        pytest.param('<!-- {"@type": "JobPosting", "title": "A"} -->', id="comment"),
        pytest.param('<![CDATA[ {"@type": "JobPosting", "title": "A"} ]]>', id="cdata"),
        pytest.param(
            '//<![CDATA[\n{"@type": "JobPosting", "title": "A"}\n//]]>', id="js"
        ),
    ],
)
def test_wrappers_around_json_are_removed(script):
    html = f'<script type="application/ld+json">{script}</script>'

    assert extract_entities(html).entities[0]["title"] == "A"


def test_a_broken_block_beside_valid_ones_is_counted_not_fatal():
    html = (
        '<script type="application/ld+json">{"@type": "JobPosting", "title": "A"'
        "</script>"
        '<script type="application/ld+json">{"@type": "JobPosting", "title": "B"}'
        "</script>"
    )

    extraction = extract_entities(html)

    assert [e["title"] for e in extraction.entities] == ["B"]
    assert extraction.broken_blocks == 1


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param(
            '<script type="application/ld+json">{"@graph": ['
            '{"@id": "#org", "@type": "Organization", "name": "Org"},'
            '{"@type": "Event", "organizer": [{"@id": "#org"}]}]}</script>',
            {"@id": "#org", "@type": "Organization", "name": "Org"},
            id="reference-inside-a-list",
        ),
        pytest.param(
            '<script type="application/ld+json">{"@graph": ['
            '{"@id": "#org", "@type": "Organization", "name": "Org"},'
            '{"@type": "Event", "organizer": [{"@id": "#nowhere"}]}]}</script>',
            {"@id": "#nowhere"},
            id="unknown-reference-stays-a-stub",
        ),
    ],
)
def test_references_resolve_wherever_they_sit(html, expected):
    event = extract_entities(html).entities[1]

    assert event["organizer"] == [expected]


def test_circular_references_end_as_a_stub():
    html = (
        '<script type="application/ld+json">{"@graph": ['
        '{"@id": "#a", "@type": "Thing", "next": {"@id": "#b"}},'
        '{"@id": "#b", "@type": "Thing", "next": {"@id": "#a"}}]}</script>'
    )

    first = extract_entities(html).entities[0]

    assert first["next"]["@id"] == "#b"
    assert first["next"]["next"] == {"@id": "#a"}


def test_each_broken_block_says_why():
    html = '<script type="application/ld+json">{"a": </script>'

    extraction = extract_entities(html)

    assert extraction.broken_blocks == 1
    assert "Expecting value" in extraction.problems[0]
