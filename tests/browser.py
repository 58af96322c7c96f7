"""Real headless Chromium for the browser tests (Debian's `chromium`; scripts/test.sh installs it where
apt is available): tests skip with a reason where it is absent."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

BACKGROUND = (21, 24, 29)            # viz/page.html's #15181d, RGB


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium is not installed (scripts/test.sh installs Debian's chromium with apt-get)")
    return exe


def screenshot(url: str, out: Path, *, size=(800, 600), timeout: float = 90.0) -> np.ndarray:
    """Load `url`, screenshot it, return the (H, W, 3) RGB pixels. No --virtual-time-budget: with an
    endless event stream it never returns (docs/viewer.md)."""
    import cv2
    cmd = [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-extensions", f"--window-size={size[0]},{size[1]}", f"--screenshot={out}", url]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    img = cv2.imread(str(out))
    assert r.returncode == 0 and img is not None, r.stderr[-2000:]
    return img[..., ::-1]


def drawn(img: np.ndarray, box: tuple[float, float, float, float], tol: int = 40) -> np.ndarray:
    """Pixels of `img` in the box (x0, y0, x1, y1 as fractions) that are not the page's background."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)
    region = img[y0:y1, x0:x1].astype(int)
    return np.abs(region - np.array(BACKGROUND)).max(-1) > tol
