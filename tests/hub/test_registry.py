from __future__ import annotations

from pathlib import Path

import pytest

from hub.exceptions import RegistryError
from hub.registry import load_registry

REPO = Path(__file__).resolve().parents[2]
GOOD = """
[[source]]
name = "brightpath"
spider = "schema_org"
provider_kind = "charity"
trust_rank = 5
schedule = "0 6 * * *"
[source.args]
sitemap_urls = ["https://brightpath.example.org/sitemap.xml"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_entry_loads_with_defaults(tmp_path):
    (entry,) = load_registry(write(tmp_path, GOOD), {"schema_org"})

    assert entry.name == "brightpath"
    assert entry.enabled is True
    assert entry.args == {
        "sitemap_urls": ["https://brightpath.example.org/sitemap.xml"]
    }


def test_every_problem_is_reported_at_once_with_source_and_field(tmp_path):
    bad = (
        GOOD
        + """
[[source]]
name = "brightpath"
spider = "nonesuch"
provider_kind = "club"
trust_rank = 0
schedule = "every day"
colour = "blue"
"""
    )
    with pytest.raises(RegistryError) as error:
        load_registry(write(tmp_path, bad), {"schema_org"})

    problems = error.value.problems
    assert len(problems) == 6
    for field in (
        "name",
        "spider",
        "provider_kind",
        "trust_rank",
        "schedule",
        "colour",
    ):
        assert any(f"source 'brightpath' (entry 2), {field}:" in p for p in problems)


def test_a_missing_or_broken_file_is_a_clear_error(tmp_path):
    with pytest.raises(RegistryError, match="does not exist"):
        load_registry(tmp_path / "nope.toml")
    with pytest.raises(RegistryError, match="not valid TOML"):
        load_registry(write(tmp_path, "[[source]\nname="))


def test_the_projects_registry_is_valid():
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    spiders = set(SpiderLoader.from_settings(get_project_settings()).list())

    assert len(load_registry(REPO / "sources.toml", spiders)) >= 5
