"""The coverage map as a PNG, drawn without a plotting library.

An RGB canvas of bytes, filled circles, rectangles and a 3 x 5 pixel font for
digits (the date and the legend's class bounds); the PNG is written with zlib
and struct. The HTML page carries the words.
"""

from __future__ import annotations

import logging
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

from hub.coldspots.mapdata import ColourClass, MapPoint, map_height, map_points
from hub.coldspots.measure import CoverageReport

logger = logging.getLogger(__name__)

MAP_WIDTH = 500
MARGIN = 10
LEGEND_HEIGHT = 90
FONT_SCALE = 3
BACKGROUND = "#ffffff"
FRAME = "#e0e0e0"
INK = "#202020"
# 3 x 5 glyphs, one string of "1"s and "0"s per row
GLYPHS: dict[str, tuple[str, ...]] = {
    "0": ("111", "101", "101", "101", "111"),
    "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"),
    "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"),
    "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"),
    "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"),
    "9": ("111", "101", "111", "001", "111"),
    ".": ("000", "000", "000", "000", "010"),
    "-": ("000", "000", "111", "000", "000"),
    "+": ("000", "010", "111", "010", "000"),
    ":": ("000", "010", "000", "010", "000"),
    " ": ("000", "000", "000", "000", "000"),
}


def rgb(colour: str) -> tuple[int, int, int]:
    """``#rrggbb`` as three bytes."""
    value = colour.lstrip("#")
    if len(value) != 6:
        raise ValueError(f"expected a colour like #1a2b3c, got {colour!r}")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


class Canvas:
    def __init__(self, width: int, height: int, background: str = BACKGROUND) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(rgb(background)) * (width * height))

    def put(self, x: int, y: int, colour: tuple[int, int, int]) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            at = (y * self.width + x) * 3
            self.pixels[at : at + 3] = bytes(colour)

    def rectangle(self, x: int, y: int, w: int, h: int, colour: str) -> None:
        left, right = max(x, 0), min(x + w, self.width)
        if right <= left:
            return
        span = bytes(rgb(colour)) * (right - left)
        for row in range(max(y, 0), min(y + h, self.height)):
            at = (row * self.width + left) * 3
            self.pixels[at : at + len(span)] = span

    def circle(self, cx: float, cy: float, r: float, fill: str, edge: str) -> None:
        inside, rim = rgb(fill), rgb(edge)
        for y in range(int(cy - r - 1), int(cy + r + 2)):
            for x in range(int(cx - r - 1), int(cx + r + 2)):
                d2 = (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2
                if d2 <= (r - 1) ** 2:
                    self.put(x, y, inside)
                elif d2 <= r**2:
                    self.put(x, y, rim)

    def text(self, x: int, y: int, text: str, colour: str = INK) -> int:
        """Draw ``text`` (characters without a glyph are skipped); returns the
        x after it."""
        value = rgb(colour)
        for char in text:
            glyph = GLYPHS.get(char)
            if glyph is None:
                continue
            for row, bits in enumerate(glyph):
                for column, bit in enumerate(bits):
                    if bit == "1":
                        self._block(
                            x + column * FONT_SCALE, y + row * FONT_SCALE, value
                        )
            x += 4 * FONT_SCALE
        return x

    def _block(self, x: int, y: int, colour: tuple[int, int, int]) -> None:
        for dy in range(FONT_SCALE):
            for dx in range(FONT_SCALE):
                self.put(x + dx, y + dy, colour)

    def to_png(self) -> bytes:
        stride = self.width * 3
        raw = b"".join(
            b"\x00" + bytes(self.pixels[row * stride : (row + 1) * stride])
            for row in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return b"".join(
            (
                b"\x89PNG\r\n\x1a\n",
                _chunk(b"IHDR", header),
                _chunk(b"IDAT", zlib.compress(raw, 9)),
                _chunk(b"IEND", b""),
            )
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def render_png(report: CoverageReport) -> bytes:
    """One point per authority, a legend of colour swatches with their lower
    bounds, and the data date (YYYY-MM-DD) in the bottom left corner."""
    points, classes = map_points(report, MAP_WIDTH)
    height = int(map_height(MAP_WIDTH))
    canvas = Canvas(MAP_WIDTH + 2 * MARGIN, height + 2 * MARGIN + LEGEND_HEIGHT)
    canvas.rectangle(MARGIN - 1, MARGIN - 1, MAP_WIDTH + 2, height + 2, FRAME)
    canvas.rectangle(MARGIN, MARGIN, MAP_WIDTH, height, BACKGROUND)
    _draw_points(canvas, points)
    below = _draw_legend(canvas, classes, height + 2 * MARGIN)
    canvas.text(MARGIN, below + 4, report.as_of.date().isoformat())
    return canvas.to_png()


def _draw_points(canvas: Canvas, points: Sequence[MapPoint]) -> None:
    for point in points:
        canvas.circle(
            point.x + MARGIN, point.y + MARGIN, point.radius, point.colour, INK
        )


def _draw_legend(canvas: Canvas, classes: Sequence[ColourClass], top: int) -> int:
    """Swatches with their lower bounds, wrapping; returns the y below them."""
    x, y = MARGIN, top
    for cls in classes:
        label = cls.label if cls.lower is not None else "-"
        if x + 24 + 4 * FONT_SCALE * len(label) > canvas.width - MARGIN:
            x, y = MARGIN, y + 26
        canvas.rectangle(x, y, 18, 18, INK)
        canvas.rectangle(x + 1, y + 1, 16, 16, cls.colour)
        x = canvas.text(x + 24, y + 2, label) + 14
    return y + 26


def write_png(report: CoverageReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render_png(report))
    logger.info("Wrote the coverage map to %s", path)
