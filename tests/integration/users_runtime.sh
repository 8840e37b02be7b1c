#!/usr/bin/env bash
# users_runtime.sh BUILD_DIR — see users_runtime.py (the driver).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/users_runtime.py" "$1"
