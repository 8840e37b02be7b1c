#!/usr/bin/env bash
# relay_redis_stall.sh BUILD_DIR — see relay_redis_stall.py (the driver).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/relay_redis_stall.py" "$1"
