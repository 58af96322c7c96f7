"""Create CURVE certificates for the forecast gateway: `python -m runtime.keys DIR [--clients N]`.

Writes DIR/server.key + DIR/server.key_secret (the gateway's `curve.secret_key_file`),
DIR/clients/clientK.key (public keys; DIR/clients is `curve.authorized_clients_dir`) and
DIR/clientK.key_secret (give one to each client; never commit secrets).
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import zmq.auth

from core.errors import cli_errors


def create_keys(directory: str | Path, clients: int = 1) -> dict[str, Path]:
    d = Path(directory)
    (d / "clients").mkdir(parents=True, exist_ok=True)
    out = {}
    pub, sec = zmq.auth.create_certificates(str(d), "server")
    out["server_public"], out["server_secret"] = Path(pub), Path(sec)
    for k in range(1, clients + 1):
        cpub, csec = zmq.auth.create_certificates(str(d), f"client{k}")
        shutil.move(cpub, d / "clients" / Path(cpub).name)   # authorized public keys only
        out[f"client{k}_secret"] = Path(csec)
    out["authorized_clients_dir"] = d / "clients"
    return out


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
