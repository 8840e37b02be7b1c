#!/usr/bin/env bash
# redis_cluster.sh BUILD_DIR — see redis_cluster.py (the driver).
# KK_CLUSTER_TOTAL overrides the message count (default 20000).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/redis_cluster.py" "$1" "${KK_CLUSTER_TOTAL:-20000}"
