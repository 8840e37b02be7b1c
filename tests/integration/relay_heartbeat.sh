#!/usr/bin/env bash
# relay_heartbeat.sh BUILD_DIR — see relay_heartbeat.py (the driver).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/relay_heartbeat.py" "$1"
