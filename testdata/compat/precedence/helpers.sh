#!/usr/bin/env bash
set -euo pipefail
say() { echo "SAID $GREETING from $REGION"; }
"$@"
