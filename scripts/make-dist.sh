#!/bin/sh
# Packs the release: scripts/make-dist.sh STAGE/NAME OUT.tar.gz, where
# STAGE/NAME is what `make install PREFIX= DESTDIR=STAGE/NAME` wrote:
#
#   NAME/bin/mambaboot            the static binary, stripped here
#   NAME/share/man/man1/mambaboot.1
#   NAME/share/mambaboot/         recipes, recipes-host, patches, compat.yaml, demo
#   NAME/SHA256SUMS               every file above, written here
#
# and OUT.tar.gz.sha256 beside it.  The tarball is reproducible: names
# sorted, owners numeric, every mtime the last commit's time.
set -eu
d=$1 out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
strip "$d/bin/mambaboot"
(cd "$d" && find . -type f ! -name SHA256SUMS | LC_ALL=C sort | sed 's|^\./||' |
	xargs sha256sum > SHA256SUMS)
epoch=$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)
tar -C "$(dirname "$d")" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
	--format=gnu -cf - "$(basename "$d")" | gzip -9n > "$out.tmp"
mv "$out.tmp" "$out"
(cd "$(dirname "$out")" && sha256sum "$(basename "$out")" > "$(basename "$out").sha256")
rm -rf "$d"
echo "$out"
