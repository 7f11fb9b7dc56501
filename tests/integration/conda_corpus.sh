# Every real conda package of the corpus (issue #4): installed alone into a
# fresh prefix, its files, link targets and exec bits match the archive;
# the broken ones (NEGATIVE in corpus/SOURCES.md) fail with one clear error.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/channel.sh"
CACHE="$T_TMP/cache"
xy=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
negative=" spiffy-test-app-0.5-pyh6afbcc8_0.tar.bz2 nano-2.4.1-0.tar.bz2 flask-0.11.1-py_0.tar.bz2 "
n=0
for pkg in "$SHARED"/corpus/conda/*.tar.bz2 "$SHARED"/corpus/conda/*.conda "$SHARED"/corpus/conda/rattler-clobber/*; do
	n=$((n + 1)); base=$(basename "$pkg")
	R="$T_TMP/r$n"; P="$T_TMP/p$n"; mkdir -p "$R"
	python_recipe "$R"
	conda_recipe "$R" pkg 1.0 "$pkg" -- python
	mb_install --recipes "$R" pkg
	case $negative in
	*" $base "*)
		lines=$(printf '%s\n' "$ERR" | grep -c '^mambaboot: error: ')
		[ "$RC" -eq 4 ] && [ "$lines" -eq 1 ] && ok "$base (NEGATIVE): refused, exit 4" || fail "$base (NEGATIVE)" "exit $RC" "$ERR"
		continue ;;
	esac
	if [ "$RC" -ne 0 ]; then fail "$base installs" "$ERR"; continue; fi
	if python3 "$MB_ROOT/tests/tools/condacheck.py" "$pkg" "$P" "$xy" > "$T_TMP/check" 2>&1; then
		ok "$base: installed as the archive has it"
	else
		fail "$base: differs from the archive" "$(head -5 "$T_TMP/check")"
	fi
done
done_testing
