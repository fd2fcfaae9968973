#!/usr/bin/env bash
set -euo pipefail
json() { echo '{"users":[{"name":"sally"},{"name":"wei"}]}'; echo "report of $CNAB_ACTION" > /cnab/app/report.txt; }
tests() {
  printf -- '--- FAIL: TestA (0.01s)\n--- PASS: TestB (0.00s)\n--- FAIL: TestC (0.02s)\n'
  echo "secret=hunter2"
  echo "from a file" > /cnab/app/users.txt
}
uninstall() { echo uninstalled; }
"$@"
