#!/usr/bin/env bash
# redis_sentinel.sh BUILD_DIR — see redis_sentinel.py (the driver).
# KK_SENTINEL_TOTAL overrides the message count (default 10000).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/redis_sentinel.py" "$1" "${KK_SENTINEL_TOTAL:-10000}"
