#!/usr/bin/env bash
set -euo pipefail
show() {
  copied=absent; [ -x /opt/copied-helpers.sh ] && copied=present
  cache=absent; [ -e /var/cache/shpc-compat/note ] && cache=present
  echo "BUILT $(cat /opt/from-cache.txt) copied=$copied cache-dir-in-image=$cache"
}
"$@"
