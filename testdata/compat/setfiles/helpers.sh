#!/usr/bin/env bash
set -euo pipefail
show() { echo "SEEN name=$1 cfg=$CFG upload=$(cat /cnab/app/upload.txt 2>/dev/null || echo absent) note=$NOTE"; }
"$@"
