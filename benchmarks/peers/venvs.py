"""Benchmark-only virtual environments for the peer libraries.

Each peer gets its own venv under ``benchmarks/.venvs/`` (gitignored): the
``dedupe`` library's package name clashes with our ``dedupe/`` package, and
neither peer belongs in the project's own environment.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

logger = logging.getLogger(__name__)

VENVS_DIR = Path(__file__).resolve().parents[1] / ".venvs"
PEER_PACKAGES: dict[str, tuple[str, ...]] = {
    # BTrees 6.5 breaks dedupe 3.0.3 ('IFBucket' object has no attribute 'byValue')
    "dedupe": ("dedupe==3.0.3", "BTrees==6.4"),
    "splink": ("splink>=5,<6", "duckdb"),
}
READY_MARK = ".installed"


def venv_python(peer: str) -> Path:
    return VENVS_DIR / peer / "bin" / "python"


def ensure_venv(peer: str) -> Path:
    """The peer's venv python, creating the venv and installing it if missing."""
    root = VENVS_DIR / peer
    packages = PEER_PACKAGES[peer]
    mark = root / READY_MARK
    if mark.exists() and mark.read_text() == "\n".join(packages):
        return venv_python(peer)
    logger.info("creating %s and installing %s", root, " ".join(packages))
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(root)], check=True)
    pip = [str(venv_python(peer)), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, *packages], check=True)
    mark.write_text("\n".join(packages))
    return venv_python(peer)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    for name in sys.argv[1:] or sorted(PEER_PACKAGES):
        print(ensure_venv(name))
