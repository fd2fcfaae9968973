#!/usr/bin/env bash
set -euo pipefail
install() {
  echo "token is $API_TOKEN"
  echo "SEEN len=${#API_TOKEN} kube=$(cat /home/nonroot/.kube/config 2>/dev/null || echo none)"
}
uninstall() { echo "bye ${#API_TOKEN}"; }
"$@"
