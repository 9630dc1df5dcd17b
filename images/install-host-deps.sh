#!/bin/sh
# Installs what building the lab's base image needs on the host: debootstrap
# and the Debian archive keyring it checks downloads with. Idempotent and
# quiet: does nothing when both are there.
set -eu

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
if { command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ]; } && [ -f "$keyring" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-host-deps: debootstrap or the Debian keyring is missing; run this script as root (sudo $0)" >&2
	exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-host-deps: debootstrap is missing and there is no apt-get: install debootstrap and debian-archive-keyring with your package manager" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends debootstrap debian-archive-keyring >/dev/null
