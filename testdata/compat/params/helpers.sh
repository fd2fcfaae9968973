#!/usr/bin/env bash
set -euo pipefail
show() {
  echo "the password is $1"
  echo "SUMMARY color=$COLOR level=$LOG_LEVEL ratio=$RATIO debug=$DEBUG_MODE tags=$MY_TAGS cfg=$(cat /cnab/app/cfg.json) name=$2 file=$(cat /cnab/app/config.txt 2>/dev/null || true) upgrade=${UPGRADE_ONLY:-unset}"
}
"$@"
