#!/usr/bin/env bash
# relay_bad_gateway.sh BUILD_DIR — see relay_bad_gateway.py (the driver).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/relay_bad_gateway.py" "$1"
