#!/usr/bin/env bash
set -euo pipefail
show() {
  echo "BUILT $(cat /opt/built.txt) secret-file=$(test -e /cnab/app/secret.txt && echo present || echo absent) user=$(id -u)"
}
fail() { echo "the thing already exists" >&2; exit 3; }
"$@"
