#!/usr/bin/env bash
set -euo pipefail
install() {
  if [ "$1" = "true" ]; then echo "install broke on purpose" >&2; exit 1; fi
  echo "PHASE installed"
}
upgrade() { echo "PHASE upgraded"; }
uninstall() { echo "PHASE uninstalled"; }
"$@"
