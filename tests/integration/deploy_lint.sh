#!/usr/bin/env bash
# deploy_lint.sh BUILD_DIR — lints deploy/ (yamllint, JSON, Dockerfile,
# systemd-analyze, --check-config of the ConfigMap, dashboard metric names
# against a live relay); see deploy_lint.py. Needs yamllint (scripts/deps.sh).
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/deploy_lint.py" "$1"
