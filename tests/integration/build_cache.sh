# The build cache (issue #18): a source build is kept under the sha256 of
# its inputs; a second prefix installs it without compiling; any changed
# input misses; two processes missing on one key build once; a mirror's
# tampered output is exit 4; builds are reproducible.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/channel.sh"
R="$T_TMP/recipes"; PA="$T_TMP/patches"; B="$T_TMP/bin"
mkdir -p "$R" "$PA/greet" "$T_TMP/src/greet-1.0" "$B"
cd "$T_TMP/src/greet-1.0" || exit 1
printf '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n' > greet.c
printf 'all:\n\t$(CC) -O2 -o greet greet.c\ninstall: all\n\tmkdir -p $(PREFIX)/bin\n\tcp greet $(PREFIX)/bin/greet\n' > Makefile
cd "$T_TMP/src" && tar -czf ../greet-1.0.tar.gz greet-1.0 && cd "$T_TMP" || exit 1
sha=$(add_blob "$T_TMP/greet-1.0.tar.gz")
printf -- '--- a/greet.c\n+++ b/greet.c\n@@ -1,2 +1,2 @@\n #include <stdio.h>\n-int main(void) { puts("hello"); return 0; }\n+int main(void) { puts("%s"); return 0; }\n' patched > "$PA/greet/0001.patch"
# A host program the build needs: its version is probed.
printf '#!/bin/sh\necho "tool %s"\n' 1.0 > "$B/mbtool" && chmod +x "$B/mbtool"
printf 'name: tool\nkind: external\nversion: ">=1"\ndetect:\n  command: [mbtool]\n  regex: "tool ([0-9.]+)"\n' > "$R/tool.yaml"
helper() { # SCRIPT_LINE: a source recipe greet depends on
	printf 'name: helper\nversion: "1.0"\nkind: source\nartifacts:\n  - url: https://upstream.invalid/greet-1.0.tar.gz\n    sha256: %s\nbuild:\n  script:\n    - %s\n' "$sha" "$1" > "$R/helper.yaml"
}
greet() { # SCRIPT_LINE...: greet, patched, depending on tool and helper
	{
		printf 'name: greet\nversion: "1.0"\nkind: source\ndepends: [tool, helper]\nartifacts:\n'
		printf '  - url: https://upstream.invalid/greet-1.0.tar.gz\n    sha256: %s\n' "$sha"
		printf 'patches:\n  - path: greet/0001.patch\n    sha256: %s\n' "$(sha256sum "$PA/greet/0001.patch" | cut -d' ' -f1)"
		printf 'build:\n  script:\n'
		for l in "$@"; do printf "    - '%s'\n" "$l"; done
	} > "$R/greet.yaml"
}
helper 'mkdir -p "$PREFIX/share" && echo v1 > "$PREFIX/share/helper"'
greet 'echo built >> '"$T_TMP"'/builds.log' 'make' 'make install PREFIX="$PREFIX"'
export PATH="$B:$PATH"
inst() { # PREFIX CACHE ARGS...
	p=$1 c=$2; shift 2
	run_mb install greet --recipes "$R" --patches "$PA" --prefix "$p" --cache "$c" --mirror "$MIRROR" --offline --json "$@"
}
field() { printf '%s' "$OUT" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
builds() { [ -f "$T_TMP/builds.log" ] && wc -l < "$T_TMP/builds.log" || echo 0; }

run_mb build-key greet --recipes "$R" --patches "$PA"
key=$(printf '%s\n' "$OUT" | sed -n 's/^key: //p')
case $OUT in *"script make"*"dep helper recipe:"*"external tool 1.0"*) ok "build-key prints the key and its inputs" ;; *) fail "build-key" "$OUT" "$ERR" ;; esac

inst "$T_TMP/p1" "$T_TMP/c1"
expect_rc "a first install builds" 0
[ "$(field builds)" = 2 ] && [ "$(field build_cache_hits)" = 0 ] && ok "it reports two builds, no hit" || fail "counts" "$OUT"
[ -f "$T_TMP/c1/builds/$key/files.tar" ] && ok "the output is kept under build-key's key" || fail "no entry $key" "$(ls "$T_TMP/c1/builds")"

# A hit runs no compiler: cc and make that fail (and say so) come first.
mkdir -p "$T_TMP/nocc"
for t in cc gcc make; do printf '#!/bin/sh\necho ran >> %s/compiler.log\nexit 1\n' "$T_TMP" > "$T_TMP/nocc/$t"; chmod +x "$T_TMP/nocc/$t"; done
PATH="$T_TMP/nocc:$PATH" inst "$T_TMP/p2" "$T_TMP/c1"
expect_rc "a second prefix installs from the build cache" 0
[ "$(field build_cache_hits)" = 2 ] && [ "$(field builds)" = 0 ] && ok "two hits, no build" || fail "counts" "$OUT"
[ ! -e "$T_TMP/compiler.log" ] && [ "$(builds)" = 1 ] && ok "no compiler or build step ran" || fail "a compiler ran" "$(cat "$T_TMP/compiler.log" 2>/dev/null)"
[ "$("$T_TMP/p2/bin/greet")" = patched ] && ok "the cached program runs" || fail "greet" "$("$T_TMP/p2/bin/greet" 2>&1)"
run_mb verify --prefix "$T_TMP/p2"
expect_rc "what the hit installed is owned and verifies" 0

# A damaged local entry (torn by a crash, a bad disk) fails once with exit
# 4 and is removed, so the next run builds it again instead of failing.
cp -a "$T_TMP/c1" "$T_TMP/cd"
printf 'X' | dd of="$T_TMP/cd/builds/$key/files.tar" bs=1 seek=700 conv=notrunc 2> /dev/null
inst "$T_TMP/pd" "$T_TMP/cd"
expect_err "a damaged cached build: exit 4" 4 "removed from the cache: run again"
[ ! -e "$T_TMP/cd/builds/$key" ] && [ ! -e "$T_TMP/pd/bin/greet" ] &&
	ok "the entry is gone and nothing was installed" || fail "damaged entry" "$(ls "$T_TMP/cd/builds" "$T_TMP/pd/bin" 2>&1)"
n=$(builds)
inst "$T_TMP/pd" "$T_TMP/cd"
expect_rc "the next run builds it again" 0
[ "$(builds)" = $((n + 1)) ] && [ "$("$T_TMP/pd/bin/greet")" = patched ] && [ -f "$T_TMP/cd/builds/$key/manifest" ] &&
	ok "built once more, installed and kept" || fail "rebuild" "$(builds) $OUT"
cp -a "$T_TMP/c1" "$T_TMP/cm" && rm "$T_TMP/cm/builds/$key/files.tar"
inst "$T_TMP/pm" "$T_TMP/cm"
expect_err "a cached build missing a file: exit 4, and removed too" 4 "missing, its manifest names it"
[ ! -e "$T_TMP/cm/builds/$key" ] && ok "the incomplete entry is gone" || fail "missing-file entry kept"

# Every input changes the key: the install then misses (--no-build: exit 5 naming it).
miss() { # NAME WANTED_LINE
	inst "$T_TMP/pm" "$T_TMP/c1" --no-build
	expect_err "a changed $1 misses: exit 5 naming it" 5 "$2"
	rm -rf "$T_TMP/pm"
}
greet 'echo built >> '"$T_TMP"'/builds.log' 'make CFLAGS=-O1' 'make install PREFIX="$PREFIX"'
miss "build script" "script make CFLAGS=-O1"
greet 'echo built >> '"$T_TMP"'/builds.log' 'make' 'make install PREFIX="$PREFIX"'
cp "$PA/greet/0001.patch" "$T_TMP/patch.bak" && sed -i 's/patched/patched again/' "$PA/greet/0001.patch"
greet 'echo built >> '"$T_TMP"'/builds.log' 'make' 'make install PREFIX="$PREFIX"'
miss "patch" "patch greet/0001.patch"
cp "$T_TMP/patch.bak" "$PA/greet/0001.patch"
greet 'echo built >> '"$T_TMP"'/builds.log' 'make' 'make install PREFIX="$PREFIX"'
helper 'mkdir -p "$PREFIX/share" && echo v2 > "$PREFIX/share/helper"'
run_mb install helper --recipes "$R" --prefix "$T_TMP/ph" --cache "$T_TMP/c1" --mirror "$MIRROR" --offline
miss "dependency" "dep helper recipe:"
helper 'mkdir -p "$PREFIX/share" && echo v1 > "$PREFIX/share/helper"'
printf '#!/bin/sh\necho "tool 1.1"\n' > "$B/mbtool"
miss "probed version" "external tool 1.1"
printf '#!/bin/sh\necho "tool 1.0"\n' > "$B/mbtool"
MAMBABOOT_FAKE_GLIBC=2.17 inst "$T_TMP/pm" "$T_TMP/c1" --no-build
expect_err "another glibc misses" 5 "glibc 2.17"
rm -rf "$T_TMP/pm"
inst "$T_TMP/p3" "$T_TMP/c1"
[ "$RC" = 0 ] && [ "$(field build_cache_hits)" = 2 ] && ok "with every input back, it hits again" || fail "no hit" "$OUT" "$ERR"

# The CUDA architectures are an input of builds that need cuda.
printf '#!/bin/sh\necho "Cuda compilation tools, release 11.8, V11.8.89"\n' > "$B/nvcc" && chmod +x "$B/nvcc"
printf 'name: cuda\nkind: external\nversion: ">=11"\ndetect:\n  command: [nvcc, --version]\n  regex: "release ([0-9]+\\\\.[0-9]+)"\n' > "$R/cuda.yaml"
printf 'name: kern\nversion: "1.0"\nkind: source\ndepends: [cuda]\nartifacts:\n  - url: https://upstream.invalid/greet-1.0.tar.gz\n    sha256: %s\nbuild:\n  script:\n    - mkdir -p "$PREFIX/share" && echo "$TORCH_CUDA_ARCH_LIST" > "$PREFIX/share/kern"\n' "$sha" > "$R/kern.yaml"
kern() { run_mb install kern --recipes "$R" --patches "$PA" --prefix "$1" --cache "$T_TMP/c1" --mirror "$MIRROR" --offline --skip-checks --cuda-arch "$2" ${3:-}; }
kern "$T_TMP/k1" 8.0
expect_rc "a cuda build for 8.0" 0
kern "$T_TMP/k2" 9.0 --no-build
expect_err "another architecture list misses" 5 "cuda_arch 9.0"
kern "$T_TMP/k3" 8.0 --no-build
expect_rc "the same list hits" 0

# A build that writes its prefix into files relocates like a conda
# package: text into any prefix, a binary only into one not longer.
rel() { # NAME SCRIPT
	printf 'name: %s\nversion: "1.0"\nkind: source\nartifacts:\n  - url: https://upstream.invalid/greet-1.0.tar.gz\n    sha256: %s\nbuild:\n  script:\n    - %s\n' "$1" "$sha" "$2" > "$R/$1.yaml"
}
rel reltext 'mkdir -p "$PREFIX/share" && echo "home=$PREFIX" > "$PREFIX/share/reltext"'
rel relbin 'mkdir -p "$PREFIX/share" && printf "%s\\000tail" "$PREFIX/lib" > "$PREFIX/share/relbin"'
ri() { run_mb install "$1" --recipes "$R" --prefix "$2" --cache "$T_TMP/c1" --mirror "$MIRROR" --offline --json; }
L="$T_TMP/rel/a-rather-long-prefix"
ri reltext "$L"; ri relbin "$L"
ri reltext "$T_TMP/rel/short"
[ "$(field build_cache_hits)" = 1 ] && [ "$(cat "$T_TMP/rel/short/share/reltext")" = "home=$T_TMP/rel/short" ] &&
	ok "a text output relocates into a shorter prefix" || fail "text relocation" "$OUT" "$(cat "$T_TMP/rel/short/share/reltext")"
ri reltext "$T_TMP/rel/a-rather-long-prefix-and-longer"
[ "$(field build_cache_hits)" = 1 ] && grep -q "home=$T_TMP/rel/a-rather-long-prefix-and-longer\$" "$T_TMP/rel/a-rather-long-prefix-and-longer/share/reltext" &&
	ok "and into a longer one" || fail "text relocation, longer" "$OUT"
run_mb verify --prefix "$T_TMP/rel/short"
expect_rc "a relocated file verifies" 0
ri relbin "$T_TMP/rel/short"
want=$(printf '%s/lib' "$T_TMP/rel/short")
got=$(tr '\000' '\n' < "$T_TMP/rel/short/share/relbin" | head -1)
[ "$(field build_cache_hits)" = 1 ] && [ "$got" = "$want" ] && ok "a binary output relocates into a shorter prefix, NUL-padded" || fail "binary relocation" "$OUT" "$got"
[ "$(wc -c < "$T_TMP/rel/short/share/relbin")" = "$(wc -c < "$L/share/relbin")" ] && ok "keeping its length" || fail "binary length changed"
ri relbin "$T_TMP/rel/a-rather-long-prefix-and-longer"
[ "$RC" = 0 ] && [ "$(field builds)" = 1 ] && [ "$(field build_cache_hits)" = 0 ] && ok "into a longer prefix, a binary output is rebuilt" || fail "binary, longer" "$OUT" "$ERR"

# A key another process holds: --lock-timeout gives up with exit 7.
run_mb build-key greet --recipes "$R" --patches "$PA"
key=$(printf '%s\n' "$OUT" | sed -n 's/^key: //p')
mkdir -p "$T_TMP/c5/partial"
flock "$T_TMP/c5/partial/build-$key.lock" sleep 5 &
sleep 0.3
inst "$T_TMP/lk" "$T_TMP/c5" --lock-timeout 1
expect_err "a build another process holds: exit 7 after --lock-timeout" 7 "another process has been building it"
wait

# Two processes that miss on one key build it once.
greet 'echo built >> '"$T_TMP"'/builds.log' 'sleep 1' 'make' 'make install PREFIX="$PREFIX"'
before=$(builds)
( inst "$T_TMP/q1" "$T_TMP/c2"; echo "$RC" > "$T_TMP/q1.rc" ) &
( inst "$T_TMP/q2" "$T_TMP/c2"; echo "$RC" > "$T_TMP/q2.rc" ) &
wait
[ "$(cat "$T_TMP/q1.rc")" = 0 ] && [ "$(cat "$T_TMP/q2.rc")" = 0 ] && ok "two concurrent installs both succeed" || fail "concurrent" "$(cat "$T_TMP"/q?.rc)"
[ $(( $(builds) - before )) = 1 ] && ok "the shared key was built once" || fail "built $(( $(builds) - before )) times"
[ "$("$T_TMP/q2/bin/greet")" = patched ] && [ "$("$T_TMP/q1/bin/greet")" = patched ] && ok "both prefixes have the program" || fail "programs"

# A mirror carries builds; bytes that differ from its manifest are exit 4.
key=$(ls "$T_TMP/c2/builds" | head -1)
mkdir -p "$MIRROR/builds" && cp -r "$T_TMP/c2/builds/"* "$MIRROR/builds/"
inst "$T_TMP/m1" "$T_TMP/c3"
[ "$RC" = 0 ] && [ "$(field build_cache_hits)" = 2 ] && ok "a fresh cache gets the builds from the mirror" || fail "mirror hit" "$OUT" "$ERR"
for k in "$MIRROR"/builds/*; do printf 'X' | dd of="$k/files.tar" bs=1 seek=600 conv=notrunc 2>/dev/null; done
inst "$T_TMP/m2" "$T_TMP/c4"
expect_err "a tampered build output in the mirror: exit 4" 4 "sha256"
[ ! -e "$T_TMP/m2/bin/greet" ] && ok "and nothing was installed" || fail "tampered output installed"

# A build whose output links to an absolute path in its prefix installs,
# but is not kept: the unpacker would refuse that link on every hit.
printf 'name: abslink\nversion: "1.0"\nkind: source\nartifacts:\n  - url: https://upstream.invalid/greet-1.0.tar.gz\n    sha256: %s\nbuild:\n  script:\n    - mkdir -p "$PREFIX/lib" && echo x > "$PREFIX/lib/libx.so.1" && ln -s "$PREFIX/lib/libx.so.1" "$PREFIX/lib/libx.so"\n' "$sha" > "$R/abslink.yaml"
run_mb install abslink --recipes "$R" --prefix "$T_TMP/al" --cache "$T_TMP/cal" --mirror "$MIRROR" --offline
expect_rc "a build with an absolute symlink installs" 0
[ -L "$T_TMP/al/lib/libx.so" ] && [ -z "$(ls "$T_TMP/cal/builds" 2>/dev/null)" ] &&
	grep -q 'the output is not kept: the link lib/libx.so points outside the prefix' "$T_TMP/al/.mambaboot/logs/abslink.log" &&
	ok "and is not kept, the log saying why" || fail "absolute link kept" "$(ls "$T_TMP/cal/builds" 2>&1)" "$ERR"
done_testing
