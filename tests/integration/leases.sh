#!/usr/bin/env bash
# leases.sh BUILD_DIR — see leases.py (the driver).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/leases.py" "$1"
