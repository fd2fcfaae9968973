#!/usr/bin/env bash
set -euo pipefail
hello() { echo "HELLO $1 debug=${PORTER_DEBUG:-unset}"; }
"$@"
