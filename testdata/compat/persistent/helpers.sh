#!/usr/bin/env bash
set -euo pipefail
show() { echo "SEEN token=$(cat /cnab/app/token) region=$(cat /cnab/app/region)"; }
install() {
  if [ -z "$(cat /cnab/app/token 2>/dev/null || true)" ]; then
    printf 'generated-%s' "$RANDOM$RANDOM" > /cnab/app/token
  fi
  show
}
"$@"
