#!/usr/bin/env bash
# tokens_sources.sh BUILD_DIR — see tokens_sources.py (the driver).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/tokens_sources.py" "$1"
