#!/usr/bin/env bash
# relay_completeness.sh BUILD_DIR — see relay_completeness.py (the driver).
# KK_COMPLETENESS_TOTAL overrides the message count (default 100000).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/relay_completeness.py" "$1" "${KK_COMPLETENESS_TOTAL:-100000}"
