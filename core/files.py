"""Input file listings shared by the capture node and the launcher (its progress total)."""
from __future__ import annotations

import re
from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def natural_key(name: str) -> list:
    """'frame_2' sorts before 'frame_10'."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def image_files(folder: str | Path) -> list[Path]:
    """The images of a folder (by suffix), in natural name order."""
    return sorted((f for f in Path(folder).iterdir() if f.suffix.lower() in IMAGE_SUFFIXES),
                  key=lambda f: natural_key(f.name))
