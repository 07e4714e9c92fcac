"""Read a PNG's width and height from its header (no image library needed)."""

from __future__ import annotations

import struct
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path | bytes) -> tuple[int, int]:
    """(width, height) of a PNG file or its bytes; ``ValueError`` if it is not a PNG."""
    if isinstance(path, bytes):
        head = path[:24]
    else:
        with Path(path).open("rb") as fh:
            head = fh.read(24)
    if len(head) < 24 or head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    return struct.unpack(">II", head[16:24])
