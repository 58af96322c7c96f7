#!/usr/bin/env bash
# The README's test command: set up, then run the whole suite on CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The browser tests drive Debian's headless chromium (docs/viewer.md); they skip with a reason where it
# is absent. Installed here when apt can (root or passwordless sudo); FORESIGHT_NO_APT=1 skips this.
if [ -z "${FORESIGHT_NO_APT:-}" ] && ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium; } >/dev/null 2>&1 \
    || echo "note: could not install chromium with apt-get; the browser tests will skip" >&2
fi
exec .venv/bin/python -m pytest -q "$@"
