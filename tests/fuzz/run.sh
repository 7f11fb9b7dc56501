#!/bin/sh
# tests/fuzz/run.sh SECONDS TARGET...: run each libFuzzer target for SECONDS
# on a seed corpus (tests/fuzz/seeds/<name>, plus tests/recipes for recipes).
set -eu
secs=$1; shift
root=$(cd "$(dirname "$0")/../.." && pwd)
for t in "$@"; do
	name=$(basename "$t")
	work="$root/build/fuzz/corpus-$name"
	mkdir -p "$work"
	seeds="$root/tests/fuzz/seeds/$name"
	[ -d "$seeds" ] && cp -n "$seeds"/* "$work"/ 2>/dev/null || true
	if [ "$name" = fuzz_recipe ]; then
		find "$root/tests/recipes" "$root/recipes" -name '*.yaml' -exec cp -n {} "$work"/ \; 2>/dev/null || true
	fi
	echo "fuzzing $name for ${secs}s"
	"$t" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=1024 \
		-artifact_prefix="$root/build/fuzz/$name-" "$work" 2>"$root/build/fuzz/$name.log" || {
		tail -n 30 "$root/build/fuzz/$name.log"; exit 1; }
	tail -n 1 "$root/build/fuzz/$name.log"
done
