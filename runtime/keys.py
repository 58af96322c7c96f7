"""Create CURVE certificates for the forecast gateway: `python -m runtime.keys DIR [--clients N]`.

Writes DIR/server.key + DIR/server.key_secret (the gateway's `curve.secret_key_file`),
DIR/clients/clientK.key (public keys; DIR/clients is `curve.authorized_clients_dir`) and
DIR/clientK.key_secret (give one to each client; never commit secrets). Secret files are mode
0600; the runtime refuses to load a secret that other users can read.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import zmq.auth

from core.errors import cli_errors


def create_keys(directory: str | Path, clients: int = 1) -> dict[str, Path]:
    """Secret files are written mode 0600 (the loaders refuse group/other-readable secrets)."""
    d = Path(directory)
    (d / "clients").mkdir(parents=True, exist_ok=True)
    out = {}
    # pyzmq writes certificates with the umask's mode (often 0644): make them in a 0700 folder,
    # tighten the secrets there, then move them in, so a secret is never readable by others
    with tempfile.TemporaryDirectory(dir=d, prefix=".keys-") as tmp:
        pub, sec = _create(tmp, "server", d)
        out["server_public"], out["server_secret"] = pub, sec
        for k in range(1, clients + 1):
            cpub, csec = _create(tmp, f"client{k}", d)
            out[f"client{k}_secret"] = csec
            shutil.move(cpub, d / "clients" / cpub.name)   # authorized public keys only
    out["authorized_clients_dir"] = d / "clients"
    return out


def _create(tmp: str, name: str, dest: Path) -> tuple[Path, Path]:
    pub, sec = (Path(x) for x in zmq.auth.create_certificates(tmp, name))
    os.chmod(sec, 0o600)
    os.chmod(pub, 0o644)
    return Path(shutil.move(pub, dest / pub.name)), Path(shutil.move(sec, dest / sec.name))


@cli_errors
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("directory")
    ap.add_argument("--clients", type=int, default=1)
    args = ap.parse_args(argv)
    for name, path in create_keys(args.directory, args.clients).items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
