#!/bin/sh
# Runs every benchmark tests/bench/*.sh (make bench).  Each prints its
# measurements and ratios against peers measured in the same run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export MB="${MB:-$root/mambaboot}" MB_ROOT="$root"
# Every benchmark's data stays until all have run: ext4 makes files several
# times slower for minutes after many were deleted, so deleting one
# benchmark's tree would slow the next one's.
BENCH_DIR=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/mbbench-all.XXXXXX") || exit 1
export BENCH_DIR BENCH_KEEP=1
trap 'rm -rf "$BENCH_DIR"' EXIT INT TERM
status=0
for b in "$here"/*.sh; do
	[ "$(basename "$b")" = run.sh ] && continue
	echo "== $(basename "$b" .sh)"
	sync # the last one's data on disk, not written back under this one's timings
	sh "$b" || status=1
done
exit $status
