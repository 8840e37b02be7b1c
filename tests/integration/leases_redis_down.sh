#!/usr/bin/env bash
# leases_redis_down.sh BUILD_DIR — see leases_redis_down.py (the driver).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/leases_redis_down.py" "$1"
