#!/usr/bin/env bash
set -euo pipefail
summary() { echo "summary=param=$CONNSTR template=$1 dep=$2"; }
uninstall() { echo "app removed"; }
status() { echo "app is up on $CONNSTR"; }
"$@"
