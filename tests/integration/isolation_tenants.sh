#!/usr/bin/env bash
# isolation_tenants.sh BUILD_DIR — see isolation_tenants.py (the driver).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/isolation_tenants.py" "$1"
