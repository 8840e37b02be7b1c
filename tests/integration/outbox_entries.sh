#!/usr/bin/env bash
# outbox_entries.sh BUILD_DIR — see outbox_entries.py (the driver).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/outbox_entries.py" "$1"
