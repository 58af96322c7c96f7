"""Input file listings shared by the capture node and the launcher (its progress total), and the
one check of an output file the run writes (--score, --record, --save)."""
from __future__ import annotations

import re
from pathlib import Path

from core.errors import ConfigError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def natural_key(name: str) -> list:
    """'frame_2' sorts before 'frame_10'."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def image_files(folder: str | Path) -> list[Path]:
    """The images of a folder (by suffix), in natural name order."""
    return sorted((f for f in Path(folder).iterdir() if f.suffix.lower() in IMAGE_SUFFIXES),
                  key=lambda f: natural_key(f.name))


def check_writable(path: str | Path, flag: str, suffixes: tuple[str, ...] = (), error: type = ConfigError) -> Path:
    """A file the run will write (often only at its end), checked before anything starts: a long run
    must not end in an unwritable path. One-line `error` naming the flag; returns the resolved path."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise error(f"{flag} {path}: is a directory, give a file name")
    if suffixes and p.suffix.lower() not in suffixes:
        raise error(f"{flag} {path}: give a file name ending in {' or '.join(suffixes)}")
    existed = p.exists()
    try:
        with open(p, "a"):
            pass
    except OSError as exc:
        raise error(f"{flag} {path}: cannot write there ({exc.strerror})") from None
    if not existed:
        p.unlink()
    return p.resolve()
