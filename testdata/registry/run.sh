#!/bin/sh
# run.sh starts a throwaway registry (Debian's docker-registry) on a free
# loopback port, prints its address (127.0.0.1:PORT) and waits until it is
# killed; storage lives in a temp folder removed on exit. Docker accepts
# plain HTTP for loopback registries without any daemon configuration.
#   testdata/registry/run.sh [PORT]
set -eu
bin=${DOCKER_REGISTRY:-/usr/bin/docker-registry}
[ -x "$bin" ] || { echo "run.sh: $bin is missing: apt-get install docker-registry" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
port=${1:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT INT TERM
sed -e "s|@ROOT@|$work/data|" -e "s|@PORT@|$port|" "$here/config.yml.tmpl" >"$work/config.yml"
"$bin" serve "$work/config.yml" &
pid=$!
i=0
until curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 50 ] || { echo "run.sh: registry did not start" >&2; exit 1; }
	sleep 0.1
done
echo "127.0.0.1:$port"
wait "$pid"
