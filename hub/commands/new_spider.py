"""``hub new-spider NAME``: a spider, its failing test and a fixture page.

Writes ``spiders/<name>.py`` (a :class:`~spiders.base.BaseSpider` with
``parse`` and one ``_parse_<field>`` helper per field), a test that fails until
its expected values are written (``tests/spiders/test_<name>.py``) and the page
it reads (``tests/fixtures/<name>/<page>.html``): one response body copied from
a recording with ``--from-recording FILE --url URL``, else a placeholder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from string import Template
from typing import Annotated
from urllib.parse import urlsplit

import typer
from rich.console import Console

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
NAME = re.compile(r"[a-z][a-z0-9_]*")
_CHARSET = re.compile(r"charset=([\w-]+)", re.I)

console = Console()


@dataclass
class Page:
    """The fixture page: where it came from and its bytes."""

    url: str
    body: bytes
    fetched: datetime
    encoding: str | None = None
    placeholder: bool = False


def register(app: typer.Typer) -> None:
    app.command("new-spider")(new_spider)


def new_spider(
    name: Annotated[str, typer.Argument(help="The spider's name, e.g. brightpath.")],
    from_recording: Annotated[
        Path | None, typer.Option(help="A WARC recording to take the fixture from.")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="The recorded page to save as the fixture.")
    ] = None,
    start_url: Annotated[
        str | None, typer.Option(help="Where the spider starts (default: --url).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite files already there.")] = False,
) -> None:
    """Write a new spider, a test that fails until written, and its fixture."""
    _check_name(name)
    if (from_recording is None) != (url is None):
        raise typer.BadParameter("give --from-recording and --url together")
    page = recorded_page(from_recording, url) if from_recording and url else None
    start = start_url or url or "https://www.example.org/"
    page = page or placeholder_page(name, start)
    for path in write_spider(Path.cwd(), name, start, page, force):
        console.print(f"wrote {path}", highlight=False)


def _check_name(name: str) -> None:
    if not NAME.fullmatch(name):
        raise typer.BadParameter(
            f"{name!r}: lower-case letters, digits and _ , starting with a letter"
        )


def recorded_page(recording: Path, url: str) -> Page:
    """One response of a recording, as the fixture page."""
    from spiders.recording import Recording

    if not recording.is_file():
        raise typer.BadParameter(f"{recording} does not exist", "--from-recording")
    found = Recording(recording).lookup(url)
    if found is None:
        raise typer.BadParameter(f"{url} is not in {recording.name}", "--url")
    content_type = dict((k.lower(), v) for k, v in found.headers).get("content-type")
    charset = _CHARSET.search(content_type or "")
    return Page(
        url, found.body, found.recorded_at, charset.group(1) if charset else None
    )


def placeholder_page(name: str, url: str) -> Page:
    body = _render("placeholder.html.tmpl", name=name, url=url).encode()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return Page(url, body, now, "utf-8", placeholder=True)


def write_spider(
    root: Path, name: str, start_url: str, page: Page, force: bool = False
) -> list[Path]:
    """Write the three files under ``root``; refuse to overwrite unless ``force``."""
    page_name = page_slug(page.url)
    values = _values(name, start_url, page, page_name)
    files = {
        root / "spiders" / f"{name}.py": _render("spider.py.tmpl", **values).encode(),
        root / "tests" / "spiders" / f"test_{name}.py": _render(
            "test_spider.py.tmpl", **values
        ).encode(),
        root / "tests" / "fixtures" / name / f"{page_name}.html": page.body,
    }
    existing = [str(path) for path in files if path.exists()]
    if existing and not force:
        raise typer.BadParameter(f"already there (use --force): {', '.join(existing)}")
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return list(files)


def _values(name: str, start_url: str, page: Page, page_name: str) -> dict[str, str]:
    fetched = page.fetched.astimezone(UTC)
    return {
        "name": name,
        "class_name": "".join(part.title() for part in name.split("_")),
        "title": name.replace("_", " ").title(),
        "domain": urlsplit(start_url).hostname or "www.example.org",
        "start_url": start_url,
        "url": page.url,
        "page": page_name,
        "encoding": f'"{page.encoding}"' if page.encoding else "None",
        "fetched": ", ".join(
            str(getattr(fetched, part))
            for part in ("year", "month", "day", "hour", "minute")
        ),
        "today": datetime.now(UTC).date().isoformat(),
    }


def page_slug(url: str) -> str:
    """A fixture file name from a URL: its last path segment, or ``listings``."""
    segment = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    slug = re.sub(r"[^a-z0-9]+", "_", segment.lower().rsplit(".", 1)[0]).strip("_")
    return slug or "listings"


def _render(template: str, **values: str) -> str:
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    return Template(text).substitute(values)
