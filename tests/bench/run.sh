#!/bin/sh
# Runs every benchmark tests/bench/*.sh (make bench).  Each prints its
# measurements and ratios against peers measured in the same run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export MB="${MB:-$root/mambaboot}" MB_ROOT="$root"
status=0
for b in "$here"/*.sh; do
	[ "$(basename "$b")" = run.sh ] && continue
	echo "== $(basename "$b" .sh)"
	sh "$b" || status=1
done
exit $status
