#!/usr/bin/env bash
set -euo pipefail
bump() {
  mkdir -p state
  n=$(cat state/counter.txt 2>/dev/null || echo 0)
  n=$((n + 1))
  echo "$n" > state/counter.txt
  echo "previous endpoint: ${1:-none}"
  echo "ENDPOINT http://example.test/$n"
  echo "COUNT $n"
}
status() { echo "STATUS count=$(cat state/counter.txt 2>/dev/null || echo 0) endpoint=${1:-none}"; }
dryrun() { echo "DRYRUN nothing to do"; }
"$@"
