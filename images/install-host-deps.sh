#!/bin/sh
# Installs what building the lab's images needs on the host: debootstrap.
# Idempotent and quiet: does nothing when debootstrap is already there.
set -eu

if command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-host-deps: debootstrap is missing; run this script as root (sudo $0)" >&2
	exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-host-deps: debootstrap is missing and there is no apt-get: install debootstrap with your package manager" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
