#!/usr/bin/env bash
set -euo pipefail
install() { echo "creating database $DATABASE"; echo "connstr=db://$DATABASE@mydb"; echo "password=dep-s3cret"; }
upgrade() { echo "connstr=db://$DATABASE@mydb/v2"; }
uninstall() { echo "dropping database $DATABASE"; }
status() { echo "database $DATABASE is up"; }
"$@"
