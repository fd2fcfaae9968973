#!/bin/sh
# build.sh builds StackHub's offline test images from testdata/images/app:
# stackhub-test/hello:1 and stackhub-test/db:1, both FROM scratch with one
# static binary. Nothing is pulled. It is idempotent and fast when the images
# are up to date: the images carry the sha256 of their build context as the
# label sh.stackhub.test.hash and are rebuilt only when it changes.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export GOTOOLCHAIN=local
(cd "$root" && CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags='-s -w' -o "$work/app" ./testdata/images/app)

build() { # build <tag> <subcommand> <port>
	tag=$1 sub=$2 port=$3
	ctx="$work/$sub"
	mkdir -p "$ctx"
	cp "$work/app" "$ctx/app"
	cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM scratch
COPY app /app
EXPOSE $port
ENTRYPOINT ["/app", "$sub"]
DOCKERFILE
	hash=$(cat "$ctx/app" "$ctx/Dockerfile" | sha256sum | cut -c1-64)
	have=$(docker image inspect --format '{{ index .Config.Labels "sh.stackhub.test.hash" }}' "$tag" 2>/dev/null || true)
	if [ "$have" = "$hash" ]; then
		echo "$tag is up to date"
		return
	fi
	echo "LABEL sh.stackhub.test.hash=$hash" >>"$ctx/Dockerfile"
	DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" >/dev/null
	echo "built $tag"
}

build stackhub-test/hello:1 hello 8080
build stackhub-test/db:1 db 5432
