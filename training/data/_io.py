"""Small readers shared by the loaders: every failure is a one-line DataError naming the path.

The checks here are the ones every loader needs: the path exists, a numeric text file has the
documented column count on every line (a truncated last line is the usual symptom of an
interrupted copy), arrays have the documented shape, and values are finite.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import DataError


def require_file(path: str | Path, what: str) -> Path:
    """`path` as a Path; DataError if it is not an existing file."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"{p}: {what} not found")
    if not p.is_file():
        raise DataError(f"{p}: expected a {what} file, found a directory")
    return p


def require_dir(path: str | Path, what: str) -> Path:
    """`path` as a Path; DataError if it is not an existing directory."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"{p}: {what} directory not found")
    if not p.is_dir():
        raise DataError(f"{p}: expected a {what} directory, found a file")
    return p


def check_finite(arr: np.ndarray, path: Path | str, name: str) -> np.ndarray:
    """Raise DataError if `arr` holds NaN/inf (names the first bad row)."""
    bad = ~np.isfinite(arr)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise DataError(f"{path}: {name} contains NaN/inf (first at row {row})")
    return arr


def read_csv_floats(path: str | Path, columns: int, what: str) -> np.ndarray:
    """Comma-separated float lines, each with exactly `columns` values -> (T, columns) float64.

    Blank lines are skipped (the benchmark files end with a newline). A line with another
    count is a wrong layout, unless it is the last line, which is reported as truncated.
    """
    p = require_file(path, what)
    try:
        lines = [ln for ln in p.read_text().splitlines() if ln.strip()]
    except UnicodeDecodeError:
        raise DataError(f"{p}: not a text {what} file") from None
    if not lines:
        raise DataError(f"{p}: empty {what} file")
    rows = []
    for i, line in enumerate(lines):
        parts = line.strip().rstrip(",").split(",")
        if len(parts) != columns:
            if i == len(lines) - 1 and len(parts) < columns and i > 0:
                raise DataError(
                    f"{p}: truncated {what} file (last line {i + 1} has {len(parts)} of {columns} values)"
                )
            raise DataError(
                f"{p}: line {i + 1} has {len(parts)} values, expected {columns} ({what} layout)"
            )
        try:
            rows.append([float(v) for v in parts])
        except ValueError:
            raise DataError(f"{p}: line {i + 1} has a non-numeric value") from None
    arr = np.asarray(rows, dtype=np.float64)
    return check_finite(arr, p, what)


def load_npz(path: str | Path, what: str) -> dict[str, np.ndarray]:
    """All arrays of an .npz as a dict; DataError for a missing, truncated or non-npz file."""
    p = require_file(path, what)
    try:
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        reason = "truncated or not an .npz archive" if not isinstance(exc, ValueError) else str(exc)
        raise DataError(f"{p}: cannot read {what} ({reason.splitlines()[0]})") from None


def need_key(data: dict[str, Any], key: str, path: Path | str, what: str) -> Any:
    if key not in data:
        raise DataError(f"{path}: {what} has no '{key}' (found: {', '.join(sorted(data)) or 'nothing'})")
    return data[key]


def check_shape(arr: np.ndarray, shape: tuple, path: Path | str, name: str) -> np.ndarray:
    """`shape` may hold None for a free axis; raise DataError naming the expected layout."""
    arr = np.asarray(arr)
    ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
    if not ok:
        want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        raise DataError(f"{path}: {name} has shape {tuple(arr.shape)}, expected {want}")
    return arr


def read_json(path: str | Path, what: str) -> Any:
    p = require_file(path, what)
    try:
        return json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise DataError(f"{p}: not valid JSON{where}; truncated {what} file?") from None
