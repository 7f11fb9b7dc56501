# What a host program prints when probed (`python --version`) is kept in the
# cache and not asked again while the program file is unchanged; a script
# (a pyenv shim may answer differently each time) is always asked.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/channel.sh"
CACHE="$T_TMP/cache"
BIN="$T_TMP/bin"; mkdir -p "$BIN"
COUNT="$T_TMP/count"

# A fake python, an ELF, that notes each time it is run.
cat > "$T_TMP/fakepy.c" <<C
#include <stdio.h>
int main(void)
{
	FILE *f = fopen("$COUNT", "a");
	if (f)
		fputs("run\n", f);
	puts("Python 3.10.7");
	return 0;
}
C
cc -o "$BIN/fakepy" "$T_TMP/fakepy.c" || { fail "cannot build the fake python"; done_testing; exit 1; }
printf '#!/bin/sh\necho run >> "%s"\necho "Python 3.10.7"\n' "$COUNT" > "$BIN/shimpy"
chmod +x "$BIN/shimpy"
runs() { [ -f "$COUNT" ] && wc -l < "$COUNT" | tr -d ' ' || echo 0; }

for prog in fakepy shimpy; do
	R="$T_TMP/r-$prog"; mkdir -p "$R"
	printf 'name: python\nversion: ">=3.10,<3.11"\nkind: external\ndetect:\n  command: [%s, --version]\n  regex: "Python ([0-9]+\\\\.[0-9]+\\\\.[0-9]+)"\n' \
		"$BIN/$prog" > "$R/python.yaml"
done

rm -f "$COUNT"
for i in 1 2 3; do
	P="$T_TMP/p$i"
	mb_install --recipes "$T_TMP/r-fakepy" python
	[ "$RC" -eq 0 ] || fail "install $i with an ELF python" "$ERR"
done
[ "$(runs)" = 1 ] && ok "an ELF program is run once, then remembered" || fail "ELF program runs" "$(runs), wanted 1"
ls "$CACHE"/probes/* >/dev/null 2>&1 && ok "the answer is in CACHE/probes" || fail "no CACHE/probes entry"

touch -d '2001-01-01' "$BIN/fakepy"
P="$T_TMP/p4"
mb_install --recipes "$T_TMP/r-fakepy" python
[ "$(runs)" = 2 ] && ok "a changed program file is asked again" || fail "after touch" "$(runs) runs, wanted 2"

# A remembered answer still goes through the recipe's range check.
sed -i 's/>=3.10,<3.11/>=3.11/' "$T_TMP/r-fakepy/python.yaml"
P="$T_TMP/p5"
mb_install --recipes "$T_TMP/r-fakepy" python
expect_err "a remembered version out of range is refused" 6 "found 3.10.7"

rm -f "$COUNT"
for i in 1 2; do
	P="$T_TMP/s$i"
	mb_install --recipes "$T_TMP/r-shimpy" python
done
[ "$(runs)" = 2 ] && ok "a script is asked every time" || fail "script runs" "$(runs), wanted 2"
done_testing
