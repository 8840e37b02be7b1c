#!/usr/bin/env bash
# outbox_crash.sh BUILD_DIR — see outbox_crash.py (the driver).
# KK_OUTBOX_TOTAL overrides the entry count (default 50000).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/outbox_crash.py" "$1" "${KK_OUTBOX_TOTAL:-50000}"
