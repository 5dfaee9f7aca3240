"""The engineer's workflow: `hub new-spider` and `hub sources check`."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from hub.cli import app

REPO = Path(__file__).resolve().parents[2]
RECORDING = REPO.parent / "shared" / "data" / "web" / "recorded.warc.gz"
URL = "https://brightpath.example/opportunities"
PAGE = """<html><body><ul>
<li class="listing" data-id="bp-1"><h3><a href="/opportunities/bp-1">Summer School
 in Law</a></h3><span class="provider">Brightpath Trust</span>
<span class="location">Leeds LS1 4AP</span><span class="salary">Unpaid</span>
<span class="closing-date">1 March 2027</span></li>
<li class="listing" data-id="bp-2"><h3><a href="/opportunities/bp-2">Mentoring</a></h3>
<span class="provider">Brightpath Trust</span></li>
</ul></body></html>"""
FILLED = {
    '"source_key": TODO': '"source_key": "bp-1"',
    '"url": TODO': '"url": "https://brightpath.example/opportunities/bp-1"',
    '"title": TODO': '"title": "Summer School in Law"',
    '"provider_name": TODO': '"provider_name": "Brightpath Trust"',
    '"location_texts": TODO': '"location_texts": ["Leeds LS1 4AP"]',
    '"pay_text": TODO': '"pay_text": "Unpaid"',
    '"closing_text": TODO': '"closing_text": "1 March 2027"',
}


def write_recording(path: Path) -> Path:
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        headers = StatusAndHeaders(
            "200 OK",
            [("Content-Type", "text/html; charset=utf-8")],
            protocol="HTTP/1.1",
        )
        body = PAGE.encode()
        record = writer.create_warc_record(
            URL,
            "response",
            payload=io.BytesIO(body),
            length=len(body),
            http_headers=headers,
        )
        writer.write_record(record)
    return path


def new_spider(root: Path, monkeypatch, *args: str):
    monkeypatch.chdir(root)
    return CliRunner().invoke(app, ["new-spider", "brightpath", *args])


def run_generated_test(root: Path) -> subprocess.CompletedProcess[str]:
    """Run the generated test with our `spiders` package extended by root's."""
    (root / "spiders" / "__init__.py").write_text(
        "from pkgutil import extend_path\n__path__ = extend_path(__path__, __name__)\n"
    )
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{REPO}"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_new_spider_from_a_recording_fails_until_its_test_is_written(
    tmp_path, monkeypatch
):
    recording = write_recording(tmp_path / "site.warc.gz")
    root = tmp_path / "project"
    root.mkdir()

    result = new_spider(
        root, monkeypatch, "--from-recording", str(recording), "--url", URL
    )

    assert result.exit_code == 0, result.output
    fixture = root / "tests" / "fixtures" / "brightpath" / "opportunities.html"
    assert fixture.read_bytes() == PAGE.encode()
    first = run_generated_test(root)
    assert "7 failed, 2 passed" in first.stdout, first.stdout[-3000:]
    test_file = root / "tests" / "spiders" / "test_brightpath.py"
    text = test_file.read_text()
    for todo, value in FILLED.items():
        text = text.replace(todo, value)
    test_file.write_text(text)
    second = run_generated_test(root)
    assert "9 passed" in second.stdout, second.stdout[-3000:]


def test_a_new_spider_without_a_recording_points_at_a_placeholder(
    tmp_path, monkeypatch
):
    result = new_spider(tmp_path, monkeypatch)

    assert result.exit_code == 0, result.output
    placeholder = tmp_path / "tests" / "fixtures" / "brightpath" / "listings.html"
    assert "placeholder" in placeholder.read_text()
    spider = (tmp_path / "spiders" / "brightpath.py").read_text()
    assert "class BrightpathSpider(BaseSpider):" in spider
    assert "def _parse_title(self, box: Selector)" in spider
    lint = subprocess.run(
        [REPO / ".venv" / "bin" / "ruff", "check", "--select", "E,F,W,B,UP", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout
    generated = run_generated_test(tmp_path)
    assert "no listing parsed from listings.html" in generated.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["Bad-Name"], "lower-case letters", id="a name Python can't import"
        ),
        pytest.param(["x", "--url", URL], "together", id="--url without a recording"),
    ],
)
def test_new_spider_refuses_bad_input(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(app, ["new-spider", *args])

    assert result.exit_code != 0
    assert message in result.output


def test_new_spider_never_overwrites_without_force(tmp_path, monkeypatch):
    assert new_spider(tmp_path, monkeypatch).exit_code == 0

    again = new_spider(tmp_path, monkeypatch)

    assert again.exit_code != 0
    assert "already there" in again.output


def hub(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        cwd=REPO,
        env={**os.environ, "COLUMNS": "150", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.recording
def test_sources_check_prints_coverage_without_storing(tmp_path):
    if not RECORDING.is_file():
        pytest.skip(f"the shared recording is absent ({RECORDING.name})")
    database = tmp_path / "untouched.sqlite"

    result = hub(
        "sources",
        "check",
        "greenhouse_smarterdx",
        HUB_DATABASE_URL=f"sqlite:///{database}",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "greenhouse_smarterdx: 2 listings" in result.stdout
    assert "title (required)" in result.stdout
    assert "meets the gate" in result.stdout
    assert not database.exists()


def test_sources_check_names_a_missing_recording(tmp_path):
    result = hub("sources", "check", "--replay", str(tmp_path / "none.warc.gz"))

    assert result.returncode != 0
    assert "does not exist" in result.stderr + result.stdout
