#!/usr/bin/env bash
set -euo pipefail
summary() { echo "summary=template=$1 param=$CONNSTR"; }
uninstall() { echo "app removed"; }
"$@"
