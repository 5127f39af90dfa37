"""Small bar charts as PNG, drawn by hand: stacked bars per day and horizontal bars per story.

Why not a plotting library: matplotlib adds ~40 MB and a font cache to a county server for two bar
charts, and Pillow still needs a CJK font that such servers often lack. The charts carry only figures
and dates (drawn with a 3×5 pixel font); their Chinese captions and legend are HTML text beside them,
which every mail client shows. PNG rather than SVG: many mail clients do not show inline SVG.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

from rules.county import LEVEL_NAMES

Color = tuple[int, int, int]
WHITE: Color = (255, 255, 255)
GRID: Color = (225, 228, 232)
INK: Color = (60, 64, 67)
LEVEL_COLORS: dict[str, Color] = {"red": (217, 48, 37), "yellow": (242, 182, 0), "blue": (26, 115, 232)}

# 3×5 glyphs, one string of 15 bits per character, row by row.
_FONT = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001001001001",
    "8": "111101111101111", "9": "111101111001111", "-": "000000111000000", ":": "000010000010000",
    ".": "000000000000010", " ": "000000000000000",
}


class Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(WHITE) * (width * height))

    def rect(self, x: int, y: int, w: int, h: int, color: Color) -> None:
        x0, y0, x1, y1 = max(0, x), max(0, y), min(self.width, x + w), min(self.height, y + h)
        row = bytes(color) * max(0, x1 - x0)
        for yy in range(y0, y1):
            start = (yy * self.width + x0) * 3
            self.pixels[start : start + len(row)] = row

    def text(self, x: int, y: int, text: str, color: Color = INK, scale: int = 2) -> None:
        for ch in text:
            glyph = _FONT.get(ch, _FONT[" "])
            for i, bit in enumerate(glyph):
                if bit == "1":
                    self.rect(x + (i % 3) * scale, y + (i // 3) * scale, scale, scale, color)
            x += 4 * scale

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(self.pixels[y * self.width * 3 : (y + 1) * self.width * 3])
                       for y in range(self.height))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(
            b"IEND", b"")


def text_width(text: str, scale: int = 2) -> int:
    return len(text) * 4 * scale


def stacked_days(days: Sequence[tuple[str, dict[str, int]]], width: int = 560, height: int = 220) -> bytes:
    """One column per day (label ``MM-DD``), stacked red over yellow over blue, total above."""
    canvas = Canvas(width, height)
    left, bottom, top = 30, height - 24, 20
    peak = max((sum(v.values()) for _, v in days), default=0) or 1
    for i in range(5):  # light grid lines with their values on the left
        y = bottom - (bottom - top) * i // 4
        canvas.rect(left, y, width - left - 8, 1, GRID)
        canvas.text(2, y - 5, str(round(peak * i / 4)) if peak >= 4 or i in (0, 4) else "")
    slot = (width - left - 8) // max(1, len(days))
    bar = max(6, slot * 3 // 5)
    for index, (label, counts) in enumerate(days):
        x = left + index * slot + (slot - bar) // 2
        y = bottom
        for level in LEVEL_NAMES:  # mildest at the bottom of the bar
            h = (bottom - top) * counts.get(level, 0) // peak
            canvas.rect(x, y - h, bar, h, LEVEL_COLORS[level])
            y -= h
        total = str(sum(counts.values()))
        canvas.text(x + (bar - text_width(total)) // 2, y - 14, total)
        canvas.text(x + (bar - text_width(label)) // 2, bottom + 8, label)
    return canvas.png()


def horizontal(bars: Sequence[tuple[str, int, str]], width: int = 560, row: int = 26) -> bytes:
    """One bar per story: (rank label, value, level), value printed at the bar's end."""
    height = max(1, len(bars)) * row + 10
    canvas = Canvas(width, height)
    left = 40
    peak = max((value for _, value, _ in bars), default=0) or 1
    room = width - left - 70
    for index, (label, value, level) in enumerate(bars):
        y = 5 + index * row
        canvas.text(4, y + 5, label)
        w = max(2, room * value // peak)
        canvas.rect(left, y + 2, w, row - 8, LEVEL_COLORS.get(level, INK))
        canvas.text(left + w + 6, y + 5, f"{value}")
    return canvas.png()
