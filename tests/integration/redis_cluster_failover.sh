#!/usr/bin/env bash
# redis_cluster_failover.sh BUILD_DIR — see redis_cluster_failover.py (the driver).
# KK_CLUSTER_FAILOVER_TOTAL overrides the message count (default 6000).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/redis_cluster_failover.py" "$1" "${KK_CLUSTER_FAILOVER_TOTAL:-6000}"
