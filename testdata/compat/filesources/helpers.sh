#!/usr/bin/env bash
set -euo pipefail
show() { echo "GOT $(cat /cnab/app/downloaded/greeting.txt)"; }
"$@"
