#!/usr/bin/env bash
# calls_signaling.sh BUILD_DIR — see calls_signaling.py (the driver): the
# relay's call signaling against the simulator, under each signal variant.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/calls_signaling.py" "$1"
