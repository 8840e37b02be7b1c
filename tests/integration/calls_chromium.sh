#!/usr/bin/env bash
# calls_chromium.sh BUILD_DIR — see calls_chromium.py (the driver): headless
# Chromium calls a relay user with "record": "auto" through the gateway
# simulator; the relay accepts, answers, records; cancel and SIGTERM too.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/calls_chromium.py" "$1"
