#!/usr/bin/env bash
# relay_sessions.sh BUILD_DIR — see relay_sessions.py (the driver).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/relay_sessions.py" "$1"
