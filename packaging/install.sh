#!/bin/sh
# install.sh takes a server from nothing to StackHub running as a systemd
# service: it installs the static binary, a hardened unit, the stackhub
# system user (member of docker) and /etc/stackhub/config.yaml, then enables
# and starts the service.
#
#   sudo sh install.sh --binary ./stackhub_linux_amd64
#   sudo sh install.sh --binary https://github.com/stackhub/stackhub/releases/latest/download/stackhub_linux_%ARCH%
#
# Options:
#   --binary PATH|URL  the static stackhub binary (required); %ARCH% in a URL
#                      becomes amd64 or arm64 for this machine
#   --sha256 HEX       refuse the binary unless it has this SHA-256
#   --addr HOST:PORT   where the service listens (default 0.0.0.0:9000); used
#                      only when /etc/stackhub/config.yaml does not exist yet
#   --root DIR         install into DIR instead of / (packaging, tests): no
#                      user is created and systemd is not called; the user
#                      comes from sysusers.d at first boot
#   --no-start         install and enable, but do not start
# An existing /etc/stackhub/config.yaml is kept as it is.
set -eu

die() { echo "install.sh: $*" >&2; exit 1; }

binary="" sha="" addr="0.0.0.0:9000" root="/" start=1
while [ $# -gt 0 ]; do
	case "$1" in
	--binary) [ $# -ge 2 ] || die "--binary needs a path or URL"; binary=$2; shift 2 ;;
	--sha256) [ $# -ge 2 ] || die "--sha256 needs a hex digest"; sha=$2; shift 2 ;;
	--addr) [ $# -ge 2 ] || die "--addr needs HOST:PORT"; addr=$2; shift 2 ;;
	--root) [ $# -ge 2 ] || die "--root needs a folder"; root=$2; shift 2 ;;
	--no-start) start=0; shift ;;
	-h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done
[ -n "$binary" ] || die "pass --binary PATH or --binary URL (the static stackhub binary of a release: make release writes dist/stackhub_linux_amd64 and _arm64)"
case "$addr" in *:[0-9]*) ;; *) die "--addr $addr is not HOST:PORT, for example 0.0.0.0:9000" ;; esac
live=0
if [ "$root" = "/" ]; then
	live=1
	root=""
	[ "$(id -u)" -eq 0 ] || die "run as root (sudo sh install.sh ...), or pass --root DIR to install into a folder"
	command -v systemctl >/dev/null 2>&1 || die "systemctl not found: this script installs a systemd service"
else
	[ -d "$root" ] || die "--root $root is not a folder"
	root=$(cd "$root" && pwd)
fi

case "$(uname -m)" in
x86_64 | amd64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
*) arch=$(uname -m) ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
case "$binary" in
http://* | https://*)
	url=$(printf '%s' "$binary" | sed "s/%ARCH%/$arch/g")
	echo "Downloading $url"
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL -o "$tmp/stackhub" "$url" || die "download of $url failed"
	elif command -v wget >/dev/null 2>&1; then
		wget -q -O "$tmp/stackhub" "$url" || die "download of $url failed"
	else
		die "neither curl nor wget is installed: download the binary yourself and pass its path"
	fi
	;;
*)
	[ -f "$binary" ] || die "binary $binary does not exist (build it with make release, or pass a release URL)"
	cp "$binary" "$tmp/stackhub"
	;;
esac
if [ -n "$sha" ]; then
	got=$(sha256sum "$tmp/stackhub" | cut -d' ' -f1)
	[ "$got" = "$sha" ] || die "the binary's SHA-256 is $got, not $sha: refusing it"
fi
chmod 0755 "$tmp/stackhub"
if [ $live -eq 1 ]; then
	"$tmp/stackhub" version >/dev/null 2>&1 || die "$binary does not run on this machine ($arch): take the linux_$arch binary"
fi

# Everything is staged; now write it.
install -d -m 0755 "$root/usr/local/bin" "$root/etc/systemd/system/multi-user.target.wants" "$root/etc/sysusers.d"
install -d -m 0750 "$root/etc/stackhub"
install -d -m 0700 "$root/var/lib/stackhub"
install -m 0755 "$tmp/stackhub" "$root/usr/local/bin/stackhub.new"
mv -f "$root/usr/local/bin/stackhub.new" "$root/usr/local/bin/stackhub"
cat >"$root/etc/systemd/system/stackhub.service" <<'UNIT'
# StackHub as a systemd service; packaging/install.sh installs it as
# /etc/systemd/system/stackhub.service. Settings go in
# /etc/stackhub/config.yaml (or STACKHUB_* lines in /etc/stackhub/stackhub.env).
[Unit]
Description=StackHub, a self-hosted app installer
Documentation=https://github.com/stackhub/stackhub
Wants=network-online.target docker.service
After=network-online.target docker.service

[Service]
Type=simple
User=stackhub
Group=stackhub
# Docker's socket: membership of the docker group is what lets StackHub
# drive the Docker Engine (and is worth root on this host).
SupplementaryGroups=docker
Environment=STACKHUB_CONFIG=/etc/stackhub/config.yaml
Environment=STACKHUB_DATA=/var/lib/stackhub
EnvironmentFile=-/etc/stackhub/stackhub.env
ExecStart=/usr/local/bin/stackhub serve
Restart=on-failure
RestartSec=5s
TimeoutStopSec=90s
StateDirectory=stackhub
StateDirectoryMode=0700
ConfigurationDirectory=stackhub
UMask=0077

# Hardening: StackHub needs its data folder, /tmp (bundle builds), the
# Docker socket and TCP; nothing else.
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RemoveIPC=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK

[Install]
WantedBy=multi-user.target
UNIT
chmod 0644 "$root/etc/systemd/system/stackhub.service"
ln -sf /etc/systemd/system/stackhub.service "$root/etc/systemd/system/multi-user.target.wants/stackhub.service"
cat >"$root/etc/sysusers.d/stackhub.conf" <<'USERS'
# The system user of the StackHub service (see stackhub.service).
u stackhub - "StackHub service" /var/lib/stackhub
m stackhub docker
USERS
if [ -e "$root/etc/stackhub/config.yaml" ]; then
	echo "Keeping $root/etc/stackhub/config.yaml"
else
	cat >"$root/etc/stackhub/config.yaml" <<CONFIG
# StackHub settings (stackhub serve --help lists them all). Restart the
# service after a change: systemctl restart stackhub
addr: $addr
data: /var/lib/stackhub
CONFIG
	chmod 0640 "$root/etc/stackhub/config.yaml"
fi

if [ $live -eq 0 ]; then
	echo "Installed StackHub into $root"
	exit 0
fi

getent group docker >/dev/null 2>&1 || die "the docker group does not exist: install Docker Engine first (apt-get install docker.io)"
if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers /etc/sysusers.d/stackhub.conf
else
	id stackhub >/dev/null 2>&1 || useradd --system --home-dir /var/lib/stackhub --shell /usr/sbin/nologin --user-group stackhub
	usermod -a -G docker stackhub
fi
chown -R stackhub:stackhub /var/lib/stackhub
chgrp stackhub /etc/stackhub /etc/stackhub/config.yaml
systemctl daemon-reload
systemctl enable stackhub.service >/dev/null
if [ $start -eq 0 ]; then
	echo "StackHub is installed and enabled; start it with: systemctl start stackhub"
	exit 0
fi
systemctl restart stackhub.service
port=${addr##*:}
if ! command -v curl >/dev/null 2>&1; then
	echo "StackHub is started on port $port (systemctl status stackhub)."
	echo "Open the one-time setup link it logged to choose the admin password: journalctl -u stackhub | grep setup?token"
	exit 0
fi
i=0
until curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 60 ] || die "StackHub did not answer on port $port within a minute: journalctl -u stackhub"
	sleep 1
done
echo "StackHub is running on port $port."
echo "Open the one-time setup link it logged to choose the admin password:"
echo "  journalctl -u stackhub | grep setup?token    (put this server's address in place of 0.0.0.0)"
