#!/bin/sh
# Installs what building and testing mambaboot needs on Debian 12 (as root,
# or through sudo).  Safe to run again: it only installs what is missing.
set -eu
pkgs="build-essential pkg-config ca-certificates
libcurl4-openssl-dev libarchive-dev libssl-dev libyaml-dev libjansson-dev libbz2-dev
libcmocka-dev clang libclang-rt-14-dev nginx-light openssl python3 curl
libarchive-tools unzip zip zstd bzip2 patch time
musl-tools dpkg-dev autoconf automake libtool
slurm-wlm munge ansible-core"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "installing:$missing" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
