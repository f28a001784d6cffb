#!/usr/bin/env bash
# What the dashboard tests need besides the Python extras: headless Chromium (Debian's
# package; Playwright's own browser download does not work here) and Playwright to drive
# it. Idempotent and quiet; does nothing when everything is there.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi
python3 - <<'PY' 2>/dev/null || python3 -m pip install -q "playwright>=1.40" "starlette>=0.37" "uvicorn>=0.29" "pyyaml>=6"
import playwright.sync_api, starlette, uvicorn, yaml
PY
