#!/usr/bin/env bash
# shard_static.sh BUILD_DIR — see shard_static.py (the driver): two relays
# with --shard 0/2 and 1/2 split the logins; restart time of one shard.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/shard_static.py" "$1"
