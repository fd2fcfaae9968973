#!/bin/sh
# debian-base.sh makes stackhub/debian-base:bookworm, the base of bundle
# images that use the exec mixin or a dockerfile template (Porter's default
# base is Debian; exec needs a shell). It is built with debootstrap
# --variant=minbase from deb.debian.org and imported with `docker import`, so
# no registry is needed. Cached: it does nothing when the image exists.
# Needs root (debootstrap); installs debootstrap with apt-get if missing.
set -eu

image=${STACKHUB_DEBIAN_BASE:-stackhub/debian-base:bookworm}
suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$image" >/dev/null 2>&1; then
	echo "$image is up to date"
	exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "debootstrap is missing: install it (apt-get install debootstrap) or run this as root" >&2
		exit 1
	fi
	# Wait for a concurrent apt run rather than fail on its lock.
	apt-get -o DPkg::Lock::Timeout=600 update -qq
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq debootstrap >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "debootstrap --variant=minbase $suite from $mirror (a minute or two)"
debootstrap --variant=minbase "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
	tail -n 30 "$work/debootstrap.log" >&2
	exit 1
}
# Keep the image small: no apt lists or caches, no docs.
rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/"*.bin \
	"$work/rootfs/usr/share/doc" "$work/rootfs/usr/share/man" "$work/rootfs/usr/share/locale"
tar -C "$work/rootfs" -c . | docker import \
	-c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	-c 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "built $image"
