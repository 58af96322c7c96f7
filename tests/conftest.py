"""Shared pytest fixtures: the `../shared` data root, skipping with a clear reason when absent."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from core.paths import REPO_ROOT, SHARED_ENV, shared_path


def _need(*parts: str):
    p = shared_path(*parts)
    if not p.exists():
        pytest.skip(f"{p} absent: put ../shared beside the checkout or set {SHARED_ENV}")
    return p


@pytest.fixture(scope="session")
def cmu_root():
    return _need("data", "cmu_mocap")


@pytest.fixture(scope="session")
def penn_root():
    return _need("data", "penn_action")


@pytest.fixture(scope="session")
def shared_video():
    return _need("media", "one-by-one-person-detection.mp4")


@pytest.fixture(scope="session")
def smpl_skeleton_json():
    return _need("data", "smpl_skeleton.json")


def _free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


@pytest.fixture(scope="session")
def torchrun():
    """Run `python -m torch.distributed.run --nproc_per_node 2 <args>` (gloo on CPU) on a free port;
    one retry, only for a port taken between probing and binding (other suites may run DDP too)."""
    def run(args: list[str], timeout: float = 240) -> subprocess.CompletedProcess:
        for _ in range(2):
            r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                                "--master_addr", "127.0.0.1", "--master_port", _free_port(), *args],
                               capture_output=True, text=True, cwd=REPO_ROOT, timeout=timeout,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
            if r.returncode == 0 or "address already in use" not in r.stderr.lower():
                break
        return r
    return run
