# Conda packages (issue #4): hostile archives never write outside their
# target and nothing reaches the prefix (exit 4 naming the entry), in both
# formats; payload under conda-meta/ or .mambaboot/ is refused the same way;
# paths.json no_link files are copies; setuid bits are dropped; a test-built ELF binary is relocated to
# a shorter prefix and runs, and a longer prefix is refused (exit 2).
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/channel.sh"
MK="python3 $MB_ROOT/tests/tools/mkconda.py"
CACHE="$T_TMP/cache"
OUTSIDE="$T_TMP/outside"; mkdir -p "$OUTSIDE"

attempt() { # NAME WANT_RC WANT_TEXT SPEC...
	name=$1 want=$2 text=$3; shift 3
	for ext in tar.bz2 conda; do
		pkg="$T_TMP/$name-1.0-0.$ext"
		$MK "$pkg" "$name" "$@" || { fail "$name.$ext: could not build the package"; continue; }
		R="$T_TMP/r-$name-$ext"; P="$T_TMP/p-$name-$ext"; mkdir -p "$R"
		conda_recipe "$R" "$name" 1.0 "$pkg"
		mb_install --recipes "$R" "$name"
		expect_err "$name (.$ext): $text" "$want" "$text"
		left=$(cd "$P" 2>/dev/null && find . -path ./.mambaboot -prune -o -print | grep -v '^\.$' | head -3)
		[ -z "$left" ] && ok "$name (.$ext): nothing reached the prefix" || fail "$name (.$ext): prefix touched" "$left"
	done
}

attempt abspath 4 "absolute path" "file:$OUTSIDE/abs=x"
attempt dotdot 4 "'..' in the path" "file:../../outside/dotdot=x"
attempt symlink-out 4 "symlink pointing outside" "link:lib/evil=../../../etc"
attempt symlink-abs 4 "symlink pointing outside" "link:lib/evil=/etc/passwd"
attempt hardlink-out 4 "hard link to outside" "hard:lib/pw=../../../etc/passwd"
attempt fifo 4 "device node, fifo or socket" "fifo:lib/pipe"
attempt device 4 "device node, fifo or socket" "chr:dev/null2"
attempt dup-entry 4 "a second entry for the same path" "file:lib/d=x" "link:lib/d=../share"
attempt through-link 4 "lib/e/owned" "link:lib/e=../share" "file:lib/e/owned=x"
# A payload file among the prefix's records could forge them.
attempt forge-record 4 "'conda-meta/numpy-1.0-0.json' is under conda-meta/" "file:share/ok=x" "file:conda-meta/numpy-1.0-0.json={}"
attempt forge-dotted 4 "'conda-meta//history' is under conda-meta/" "file:./conda-meta//history=+x::y-1-0"
attempt forge-state 4 "'.mambaboot/state.json' is under .mambaboot/" "file:.mambaboot/state.json={}"
# A package published cut short (its pinned digest is of the short bytes):
# the decompression fails mid-stream, exit 4, one error, nothing placed.
for ext in tar.bz2 conda; do
	whole="$T_TMP/whole-1.0-0.$ext" pkg="$T_TMP/short-1.0-0.$ext"
	$MK "$whole" short "file:share/a=$(head -c 60000 /dev/urandom | base64 -w0)" "file:share/b=x"
	head -c $(( $(wc -c < "$whole") * 2 / 3 )) "$whole" > "$pkg"
	R="$T_TMP/r-short-$ext"; P="$T_TMP/p-short-$ext"; mkdir -p "$R"
	conda_recipe "$R" short 1.0 "$pkg"
	mb_install --recipes "$R" short
	lines=$(printf '%s\n' "$ERR" | grep -c '^mambaboot: error: ')
	left=$(cd "$P" 2>/dev/null && find . -path ./.mambaboot -prune -o -print | grep -v '^\.$' | head -3)
	[ "$RC" -eq 4 ] && [ "$lines" -eq 1 ] && [ -z "$left" ] &&
		ok "a truncated .$ext: exit 4, one error, nothing placed" ||
		fail "a truncated .$ext" "exit $RC, $lines error lines" "$ERR" "$left"
done
# A .tar.bz2 over 2 MiB is decoded block by block on several threads
# (when there are 2 CPUs or more): whole, it installs byte for byte; cut
# short or with one bit flipped, exit 4 with one error, nothing placed.
want="damaged archive"; [ "$(getconf _NPROCESSORS_ONLN)" -ge 2 ] && want="bzip2 data at byte"
head -c 4500000 /dev/urandom | base64 > "$T_TMP/big-data"
pkg="$T_TMP/big-1.0-0.tar.bz2"; $MK "$pkg" big "raw:share/big=$T_TMP/big-data" "file:share/b=x"
R="$T_TMP/r-big"; P="$T_TMP/p-big"; mkdir -p "$R"; conda_recipe "$R" big 1.0 "$pkg"
mb_install --recipes "$R" big
expect_rc "a .tar.bz2 of $(( $(wc -c < "$pkg") >> 20 )) MiB installs" 0
cmp -s "$P/share/big" "$T_TMP/big-data" && ok "with its big file whole" || fail "big file differs"
size=$(wc -c < "$pkg")
head -c $(( size * 2 / 3 )) "$pkg" > "$T_TMP/bigcut-1.0-0.tar.bz2"
python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[len(d) // 2] ^= 8; open(sys.argv[2], "wb").write(d)' \
	"$pkg" "$T_TMP/bigflip-1.0-0.tar.bz2"
for name in bigcut bigflip; do
	R="$T_TMP/r-$name"; P="$T_TMP/p-$name"; mkdir -p "$R"
	conda_recipe "$R" "$name" 1.0 "$T_TMP/$name-1.0-0.tar.bz2"
	mb_install --recipes "$R" "$name"
	left=$(cd "$P" 2>/dev/null && find . -path ./.mambaboot -prune -o -print | grep -v '^\.$' | head -3)
	expect_err "a big .tar.bz2 ($name): exit 4, one error" 4 "$want"
	[ -z "$left" ] && ok "a big .tar.bz2 ($name): nothing placed" || fail "$name placed files" "$left"
done
[ -z "$(ls "$OUTSIDE")" ] && ok "nothing was written outside (the 'outside' directory is empty)" || fail "written outside" "$(ls "$OUTSIDE")"

# setuid and setgid bits are dropped.
pkg="$T_TMP/suid-1.0-0.tar.bz2"; $MK "$pkg" suid "suid:bin/tool=#!/bin/sh"
R="$T_TMP/r-suid"; P="$T_TMP/p-suid"; mkdir -p "$R"; conda_recipe "$R" suid 1.0 "$pkg"
mb_install --recipes "$R" suid
expect_rc "a package with a setuid file installs" 0
[ "$(stat -c %a "$P/bin/tool")" = 755 ] && ok "without its setuid bit" || fail "setuid kept" "$(stat -c %a "$P/bin/tool")"

# paths.json "no_link": true is always a copy, never a link into the cache
# (a hard link would let the prefix write through into the cache entry).
for ext in tar.bz2 conda; do
	pkg="$T_TMP/nolink$ext-1.0-0.$ext"
	$MK "$pkg" "nolink$ext" "file:share/copied=mine" "nolink:share/copied" "file:share/shared=ours"
	R="$T_TMP/r-nolink$ext"; P="$T_TMP/p-nolink$ext"; mkdir -p "$R"; conda_recipe "$R" "nolink$ext" 1.0 "$pkg"
	mb_install --recipes "$R" "nolink$ext"
	expect_rc "a package with a no_link file installs ($ext)" 0
	c_copied=$(find "$CACHE" -path "*/share/copied" | head -1) c_shared=$(find "$CACHE" -path "*/share/shared" | head -1)
	if [ -n "$c_copied" ] && [ "$(stat -c %i "$c_copied")" != "$(stat -c %i "$P/share/copied")" ] &&
	   [ "$(stat -c %h "$P/share/copied")" = 1 ] && [ "$(cat "$P/share/copied")" = mine ]; then
		ok "the no_link file is a copy of its own ($ext)"
	else
		fail "no_link file shared with the cache ($ext)" "$(ls -li "$c_copied" "$P/share/copied" 2>&1)"
	fi
	if [ -n "$c_shared" ] && [ "$(stat -c %i "$c_shared")" = "$(stat -c %i "$P/share/shared")" ]; then
		ok "while the other file is linked ($ext): the check above could fail"
	else
		ok "# SKIP the file system does not hard-link the other file ($ext)"
	fi
done

# A binary with a long placeholder, relocated to a shorter prefix.
PH="/opt/placeholder_$(printf '%0200d' 0 | tr 0 p)"
printf '#include <stdio.h>\nstatic const char where[] = "%s/share/data";\nint main(void) { puts(where); return 0; }\n' "$PH" > "$T_TMP/where.c"
cc -O0 -o "$T_TMP/where" "$T_TMP/where.c" || fail "compile the test binary"
for ext in tar.bz2 conda; do
	pkg="$T_TMP/elf$ext-1.0-0.$ext"
	$MK "$pkg" "elf$ext" "raw:bin/where=$T_TMP/where" "placeholder:bin/where=binary=$PH"
	R="$T_TMP/r-elf$ext"; P="$T_TMP/p-elf-$ext"; mkdir -p "$R"; conda_recipe "$R" "elf$ext" 1.0 "$pkg"
	mb_install --recipes "$R" "elf$ext"
	expect_rc "an ELF package ($ext) installs at a shorter prefix" 0
	[ "$("$P/bin/where")" = "$P/share/data" ] && ok "and the binary prints the new prefix" || fail "relocated output" "$("$P/bin/where" 2>&1)"
	[ "$(stat -c %s "$P/bin/where")" = "$(stat -c %s "$T_TMP/where")" ] && ok "with its length unchanged" || fail "length changed"
	P="$T_TMP/$(printf '%0250d' 0 | tr 0 l)"
	mb_install --recipes "$R" "elf$ext"
	expect_err "a prefix longer than the placeholder is refused ($ext)" 2 "longer than its binary placeholder"
	[ ! -e "$P/bin" ] && ok "and leaves nothing behind" || fail "long prefix left files"
done

# A package from before paths.json (info/files) naming a path that is not
# UTF-8: a conda-meta record (JSON) cannot hold it, so it is refused.
python3 - "$T_TMP/latin-1.0-0.tar.bz2" <<'PY'
import io, json, sys, tarfile
with tarfile.open(sys.argv[1], "w:bz2", format=tarfile.GNU_FORMAT, encoding="latin-1") as t:
    for name, data in ((b"share/caf\xe9.txt", b"x"), (b"info/files", b"share/caf\xe9.txt\n"),
                       (b"info/index.json", json.dumps({"name": "latin", "version": "1.0", "build": "0"}).encode())):
        ti = tarfile.TarInfo(name.decode("latin-1")); ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
PY
R="$T_TMP/r-latin"; P="$T_TMP/p-latin"; mkdir -p "$R"; conda_recipe "$R" latin 1.0 "$T_TMP/latin-1.0-0.tar.bz2"
mb_install --recipes "$R" latin
expect_err "a path that is not UTF-8: exit 4 naming it" 4 "not UTF-8"
[ ! -e "$P/share" ] && ok "and nothing is installed" || fail "latin-1 path installed" "$(ls -R "$P/share")"
done_testing
