"""No value in the data can make write_static write outside its output folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.web.static import PublishError, safe_path, write_static
from storage.integrity import check_published_folder
from storage.session import make_engine, migrate, session_factory
from tests.web.feed_builders import FeedDb, golden

PATH_SHAPED = [
    "../../etc/x",
    "..",
    "/etc/passwd",
    "/tmp/../../x",
    "a\x00b",
    "..\\..\\windows\\x",
    "feed/../../escape",
    "~/.bashrc",
    "%2e%2e%2fx",
]


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() or p.is_symlink()}


@pytest.fixture
def path_shaped_db(tmp_path: Path) -> FeedDb:
    database_url = f"sqlite:///{tmp_path / 'db' / 'feed.sqlite'}"
    engine = make_engine(database_url)
    migrate(engine)
    feed_db = FeedDb(database_url, session_factory(engine))
    for number, shape in enumerate(PATH_SHAPED):
        record = golden(
            shape,
            provider_name=shape,
            sources=[f"src{number}"],
            attributions=[shape],
            licences=[shape],
        )
        record["locations"][0]["text"] = shape
        feed_db.add(shape, record)
    feed_db.publish()
    return feed_db


def test_path_shaped_ids_and_fields_stay_inside_the_output(
    path_shaped_db: FeedDb, tmp_path: Path
):
    sandbox = tmp_path / "sandbox"
    (sandbox / "etc").mkdir(parents=True)
    before = _files(tmp_path)
    out = sandbox / "deep" / "site"

    summary = write_static(path_shaped_db.factory, out, page_size=4)

    written = _files(tmp_path) - before
    version = summary.folder.resolve()
    outside = [
        p for p in written if p != out and not p.resolve().is_relative_to(version)
    ]
    assert outside == []
    assert summary.items == len(PATH_SHAPED)
    assert not (sandbox / "etc" / "x").exists() and not (tmp_path / "x").exists()
    items, name = [], "start.json"
    while True:
        page = json.loads((out / "feed" / name).read_text())
        items += [item["id"] for item in page["items"]]
        if page["next"] == name:
            break
        name = page["next"]
    assert sorted(items) == sorted(PATH_SHAPED)
    assert check_published_folder(out) == []
    write_static(path_shaped_db.factory, out, page_size=4)  # with the kept positions
    assert check_published_folder(out) == []


@pytest.mark.parametrize(
    "name",
    [pytest.param(shape, id=repr(shape)) for shape in PATH_SHAPED]
    + [pytest.param("", id="empty"), pytest.param(".hidden", id="dot-file")],
)
def test_safe_path_refuses_every_path_shaped_name(tmp_path: Path, name: str):
    with pytest.raises(PublishError):
        safe_path(tmp_path, name)


@pytest.mark.parametrize(
    "names",
    [
        pytest.param(("feed", "page-000001.json"), id="a-page"),
        pytest.param(("export.csv",), id="an-export"),
    ],
)
def test_safe_path_accepts_the_names_it_makes(tmp_path: Path, names: tuple[str, ...]):
    assert safe_path(tmp_path, *names) == tmp_path.joinpath(*names)


def test_a_link_planted_inside_the_output_is_not_followed(tmp_path: Path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "feed").symlink_to(tmp_path)
    with pytest.raises(PublishError):
        safe_path(root, "feed", "page-000000.json")
