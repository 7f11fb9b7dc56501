# Faults during install (issue #6): kill -9 at random moments, concurrent
# installs, SIGINT, a full disk.  After each, the next command recovers and
# the prefix is the old state or the new one, never a mix.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/channel.sh"
CACHE="$T_TMP/cache"
RA="$T_TMP/ra"; RB="$T_TMP/rb"; mkdir -p "$RA/stacks" "$RB/stacks"
for R in "$RA" "$RB"; do
	conda_recipe "$R" moto 1.3.7 "$C/conda/moto-1.3.7-py_0.tar.bz2"
	conda_recipe "$R" cph 0.0.1 "$C/conda/cph_test_data-0.0.1-0.tar.bz2"
	printf 'name: python\nversion: ">=3"\nkind: external\ndetect:\n  command: [python3, --version]\n  regex: "Python ([0-9]+\\\\.[0-9]+)"\n' > "$R/python.yaml"
	printf 'stack: s\ntargets: [moto, cph, clobber, mock]\n' > "$R/stacks/s.yaml"
done
conda_recipe "$RA" clobber 0.1.0 "$C/conda/rattler-clobber/clobber-1-0.1.0-h4616a5c_0.tar.bz2"
conda_recipe "$RB" clobber 0.2.0 "$C/conda/rattler-clobber/clobber-1-0.2.0-h4616a5c_0.tar.bz2"
conda_recipe "$RA" mock 2.0.0 "$C/conda/mock-2.0.0-py37_1000.tar.bz2"
conda_recipe "$RB" mock 2.0.0 "$C/conda/mock-2.0.0-py37_1000.conda"
# moto is noarch: python; it needs the python recipe.
for R in "$RA" "$RB"; do sed -i 's/^kind: conda$/kind: conda\ndepends: [python]/' "$R/moto.yaml"; done

tree_sum() { (cd "$1" && find . -path ./.mambaboot -prune -o -path ./conda-meta/history -prune -o -print | LC_ALL=C sort | while read -r f; do
	# bin/activate names its prefix: its presence is compared, not its bytes.
	if [ -L "$f" ]; then echo "$f l $(readlink "$f")"; elif [ "$f" = ./bin/activate ]; then echo "$f"
	elif [ -f "$f" ]; then echo "$f $(sha256sum < "$f")"; else echo "$f d"; fi
done | sha256sum | cut -c1-16); }

# Reference trees: empty, state A, state B.
P="$T_TMP/ref"; mkdir -p "$P"; T0=$(tree_sum "$P")
mb_install --recipes "$RA" s; TA=$(tree_sum "$P")
expect_rc "reference install A" 0
mb_install --recipes "$RB" s; TB=$(tree_sum "$P")
expect_rc "reference upgrade to B" 0
[ "$TA" != "$TB" ] && ok "states A and B differ" || fail "A and B are the same tree"

P="$T_TMP/crash"; mkdir -p "$P"
bad=0 seen_mid=0 i=0
while [ $i -lt 50 ]; do
	i=$((i + 1))
	if [ $((i % 2)) -eq 1 ]; then R=$RA; else R=$RB; fi
	"$MB" install --prefix "$P" --cache "$CACHE" --mirror "$MIRROR" --offline --recipes "$R" s \
		>/dev/null 2>&1 &
	pid=$!
	sleep "0.$(( (i * 37) % 20 ))"
	kill -9 "$pid" 2>/dev/null && seen_mid=$((seen_mid + 1))
	wait "$pid" 2>/dev/null
	if ! "$MB" verify --prefix "$P" >/dev/null 2>"$T_TMP/verify.err"; then
		grep -q 'not a mambaboot prefix' "$T_TMP/verify.err" || { bad=$((bad + 1)); echo "# run $i: verify failed: $(cat "$T_TMP/verify.err")"; }
	fi
	t=$(tree_sum "$P")
	if [ "$t" != "$T0" ] && [ "$t" != "$TA" ] && [ "$t" != "$TB" ]; then
		bad=$((bad + 1)); echo "# run $i: the prefix is neither empty, A nor B"
	fi
done
[ $bad -eq 0 ] && ok "50 installs killed with -9 at random moments: each recovered to a whole state ($seen_mid killed mid-run)" || fail "kill -9 recovery" "$bad bad runs"
mb_install --recipes "$RB" s
expect_rc "a re-run after the kills completes" 0
[ "$(tree_sum "$P")" = "$TB" ] && ok "and gives state B" || fail "final state after kills"

# Eight installs at once into one prefix with one cache.
P="$T_TMP/conc"; mkdir -p "$P"
for k in 1 2 3 4 5 6 7 8; do
	"$MB" install --prefix "$P" --cache "$CACHE" --mirror "$MIRROR" --offline --recipes "$RA" s \
		--lock-timeout 2 >"$T_TMP/c$k.out" 2>&1 &
done
codes=""
for k in 1 2 3 4 5 6 7 8; do wait %$k 2>/dev/null; codes="$codes $?"; done
wait
case " $codes " in *" 1 "*|*" 2 "*|*" 3 "*|*" 4 "*|*" 5 "*|*" 6 "*) fail "concurrent installs exit 0 or 7" "$codes" ;; *) ok "8 concurrent installs each exit 0 or 7 ($codes )" ;; esac
run_mb verify --prefix "$P"
expect_rc "the prefix verifies after concurrent installs" 0
[ "$(tree_sum "$P")" = "$TA" ] && ok "and holds state A" || fail "concurrent final state"

# SIGINT in the middle of a slow build step leaves the previous state.
R="$T_TMP/rslow"; cp -r "$RA" "$R"
mkdir -p "$T_TMP/slow-1.0"; printf 'x\n' > "$T_TMP/slow-1.0/README"
(cd "$T_TMP" && tar -czf slow-1.0.tar.gz slow-1.0)
h=$(add_blob "$T_TMP/slow-1.0.tar.gz")
printf 'name: slow\nversion: "1.0"\nkind: source\nartifacts:\n  - url: https://upstream.invalid/slow-1.0.tar.gz\n    sha256: %s\nbuild:\n  script:\n    - mkdir -p "$PREFIX/share/slow" && touch "$PREFIX/share/slow/half"\n    - sleep 30\n' "$h" > "$R/slow.yaml"
printf 'stack: s\ntargets: [moto, cph, clobber, mock, slow]\n' > "$R/stacks/s.yaml"
P="$T_TMP/sigint"; mkdir -p "$P"
mb_install --recipes "$RA" s
"$MB" install --prefix "$P" --cache "$CACHE" --mirror "$MIRROR" --offline --recipes "$R" s >/dev/null 2>"$T_TMP/int.err" &
pid=$!
k=0; while [ ! -e "$P/share/slow/half" ] && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
kill -INT "$pid"; wait "$pid"; rc=$?
[ $rc -ne 0 ] && grep -q 'mambaboot: error:' "$T_TMP/int.err" && ok "SIGINT stops the install with an error (exit $rc)" || fail "SIGINT exit" "rc=$rc $(cat "$T_TMP/int.err")"
[ "$(tree_sum "$P")" = "$TA" ] && [ ! -e "$P/share/slow" ] && ok "SIGINT leaves the previous state" || fail "SIGINT state"
grep -q '^mambaboot: stopping once the step under way ends (again: stop now' "$T_TMP/int.err" &&
	ok "SIGINT says at once that it is stopping, and how to stop now" || fail "SIGINT message" "$(cat "$T_TMP/int.err")"

# A full disk: a 1 MiB tmpfs cannot hold the stack.
D="$T_TMP/small"; mkdir -p "$D"
if mount -t tmpfs -o size=1m tmpfs "$D" 2>/dev/null; then
	P="$D/prefix"
	mb_install --recipes "$RA" s
	expect_err "a full disk: exit 1 with a clear error" 1 "No space left on device"
	left=$(cd "$P" 2>/dev/null && find . -path ./.mambaboot -prune -o -path ./conda-meta/history -prune -o -type f -print | head -3)
	[ -z "$left" ] && ok "and the prefix is unchanged" || fail "disk full left files" "$left"
	umount "$D"
else
	ok "# SKIP no permission to mount a tmpfs"
	ok "# SKIP no permission to mount a tmpfs"
fi

# libarchive is loaded on first use: without it an install stops before it
# writes anything (exit 6, one line naming the package)
P="$T_TMP/nolib-p"; mkdir -p "$P"
if ! mb_lazy; then
	ok "# SKIP libarchive is linked into $MB: nothing to load at run time"
elif stub_lib "$T_TMP/libs" libarchive.so.13; then
	run_mb_libs "$T_TMP/libs" install --prefix "$P" --cache "$T_TMP/nolib-c" --mirror "$MIRROR" \
		--offline --recipes "$RA" s
	expect_err "a libarchive that cannot be loaded: exit 6, naming the package" 6 \
		"cannot load libarchive.so.13 (install libarchive13)"
	run_mb_libs "$T_TMP/libs/empty" install --prefix "$P" --cache "$T_TMP/nolib-c" --mirror "$MIRROR" \
		--offline --recipes "$RA" s
	expect_err "a libarchive without its functions: exit 6, naming the function" 6 "libarchive.so.13 lacks archive_"
	[ -z "$(ls "$P")" ] && ok "and nothing is installed" || fail "installed without libarchive" "$(ls "$P")"
else
	fail "cc builds a stub library"
fi
done_testing
