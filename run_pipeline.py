"""Foresight pipeline launcher (placeholder until the runtime lands)."""
from __future__ import annotations


def main(argv=None) -> int:
    raise SystemExit("runtime not implemented yet")


if __name__ == "__main__":
    raise SystemExit(main())
