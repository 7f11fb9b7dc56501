#!/bin/sh
# Writes the release tarball: scripts/make-dist.sh BINARY VERSION OUT.tar.gz
#
#   mambaboot-VERSION-x86_64-linux/
#     bin/mambaboot            the static binary, stripped
#     share/man/man1/mambaboot.1
#     share/mambaboot/         recipes, patches, compat.yaml, demo
#     SHA256SUMS               every file above
#
# and OUT.tar.gz.sha256 beside it.  The tarball is reproducible: names
# sorted, owners numeric, every mtime the last commit's time.
set -eu
bin=$1 version=$2 out=$3
name=mambaboot-$version-x86_64-linux
root=$(cd "$(dirname "$0")/.." && pwd)
stage=$(dirname "$out")/dist-stage
rm -rf "$stage"
d=$stage/$name
mkdir -p "$d/bin" "$d/share/man/man1" "$d/share/mambaboot"
cp "$bin" "$d/bin/mambaboot"
strip "$d/bin/mambaboot"
cp "$root/share/man/man1/mambaboot.1" "$d/share/man/man1/"
cp -R "$root/recipes" "$root/patches" "$d/share/mambaboot/"
cp -R "$root/share/mambaboot/." "$d/share/mambaboot/"
(cd "$d" && find . -type f ! -name SHA256SUMS | LC_ALL=C sort | sed 's|^\./||' |
	xargs sha256sum > SHA256SUMS)
epoch=$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
	--format=gnu -cf - "$name" | gzip -9n > "$out.tmp"
mv "$out.tmp" "$out"
(cd "$(dirname "$out")" && sha256sum "$(basename "$out")" > "$(basename "$out").sha256")
rm -rf "$stage"
echo "$out"
