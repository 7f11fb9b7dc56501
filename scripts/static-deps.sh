#!/bin/sh
# Builds the libraries of the static mambaboot with musl, from Debian's own
# source packages, and prints the folder that holds them (include/, lib/).
#
#   scripts/static-deps.sh            build once, then print the cached root
#   scripts/static-deps.sh --manifest print what was built: name, version,
#                                     and the sha256 of each source file
#
# The build lives outside the tree, in $MB_STATIC_DEPS (default
# ${XDG_CACHE_HOME:-~/.cache}/mambaboot-static-deps/KEY), KEY being a digest
# of this script and of musl's version: a second run prints the root in
# milliseconds, and an edit here builds afresh beside the old one.
#
# Only what mambaboot uses is built: curl with HTTP(S), file:// and proxies
# (no LDAP, GSSAPI, FTP, SMB, ...), OpenSSL without engines or the legacy
# provider, libarchive readers with zlib, bzip2, xz and zstd; and mimalloc,
# which replaces musl's malloc.  Needs root
# (or sudo) only for apt-get: deb-src is enabled and musl-tools installed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
mode=${1:-build}
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo

need_tools() {
	command -v musl-gcc >/dev/null && command -v dpkg-source >/dev/null &&
		command -v autoreconf >/dev/null && command -v libtoolize >/dev/null && return 0
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
		musl-tools dpkg-dev autoconf automake libtool make >/dev/null
}

# apt-get source needs deb-src lines; Debian 12 ships deb822 sources.
enable_deb_src() {
	apt-cache showsrc zlib 2>/dev/null | grep -q '^Version' && return 0
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && $sudo sed -i 's/^Types: deb$/Types: deb deb-src/' "$f"
	done
	if [ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list; then
		sed -n 's/^deb /deb-src /p' /etc/apt/sources.list |
			$sudo tee /etc/apt/sources.list.d/mambaboot-deb-src.list >/dev/null
	fi
	$sudo apt-get update -qq
}

need_tools
musl_version=$(dpkg-query -W -f='${Version}' musl-tools)
key=$(cat "$0" | sha256sum | cut -c1-12)-musl$musl_version
top=${MB_STATIC_DEPS:-${XDG_CACHE_HOME:-$HOME/.cache}/mambaboot-static-deps}/$key
R=$top/root

case $mode in
--manifest) cat "$top/MANIFEST"; exit 0 ;;
build) ;;
*) echo "usage: $0 [--manifest]" >&2; exit 2 ;;
esac

# One build at a time per KEY: a second run waits, then finds it done.
mkdir -p "$(dirname "$top")"
exec 9>"$top.lock"
flock 9
if [ -f "$top/done" ]; then
	echo "$R"
	exit 0
fi
enable_deb_src
rm -rf "$top"
mkdir -p "$top/src" "$R/include" "$R/lib"
log=$top/build.log
: >"$log"
echo "static-deps: building into $top (log: $log)" >&2

jobs=$(nproc 2>/dev/null || echo 2)
export CC=musl-gcc CFLAGS="-O2 -fPIC -D_FILE_OFFSET_BITS=64" \
	CPPFLAGS="-I$R/include" LDFLAGS="-L$R/lib" \
	PKG_CONFIG_LIBDIR="$R/lib/pkgconfig" PKG_CONFIG_PATH= PKG_CONFIG="pkg-config --static"

# musl-gcc sees musl's headers only: lend it the kernel's, which libarchive
# and OpenSSL probe for.
kinc=/usr/include
for d in linux asm-generic; do ln -sfn "$kinc/$d" "$R/include/$d"; done
ln -sfn "$kinc/$(gcc -print-multiarch)/asm" "$R/include/asm"

# fetch NAME: the source package, unpacked with Debian's patches applied;
# records its version and the sha256 of every file apt verified.  The
# newest version the archive serves wins (a mirror may lack the newest
# security upload: then the next one down is taken).
fetch() {
	for v in $(apt-cache showsrc "$1" | sed -n 's/^Version: //p' | sort -ruV); do
		rm -rf "$top/src/$1" && mkdir -p "$top/src/$1"
		if (cd "$top/src/$1" && apt-get source -qq "$1=$v") >>"$log" 2>&1; then
			echo "$1 $v" >>"$top/MANIFEST"
			(cd "$top/src/$1" && sha256sum "$1"_*) | sed 's/^/  /' >>"$top/MANIFEST"
			find "$top/src/$1" -mindepth 1 -maxdepth 1 -type d | head -n 1
			return 0
		fi
	done
	echo "static-deps: apt-get source $1 failed for every version (see $log)" >&2
	return 1
}

step() {
	echo "static-deps: $1" >&2
	shift
	"$@" >>"$log" 2>&1 || { echo "static-deps: failed: $* (see $log)" >&2; tail -n 20 "$log" >&2; exit 1; }
}

configure_static() {
	./configure --prefix="$R" --libdir="$R/lib" --disable-shared --enable-static "$@"
}

build_zlib() {
	src=$(fetch zlib)
	cd "$src"
	step "zlib: configure" ./configure --static --prefix="$R" --libdir="$R/lib"
	step "zlib: make" make -j"$jobs" libz.a
	step "zlib: install" make install
}

build_bzip2() {
	src=$(fetch bzip2)
	cd "$src"
	# GCC turns the move-to-front loops of BZ2_decompress into memmove
	# calls of a few bytes, which musl does backwards with 'std; rep movsb':
	# 13% of a .tar.bz2 install's time (perf).  Keep them loops.
	step "bzip2: make" make -j"$jobs" CC="$CC" \
		CFLAGS="$CFLAGS -fno-tree-loop-distribute-patterns" libbz2.a
	cp libbz2.a "$R/lib/" && cp bzlib.h "$R/include/"
}

build_xz() {
	src=$(fetch xz-utils)
	cd "$src"
	[ -x configure ] || step "xz: autoreconf" autoreconf -fi
	step "xz: configure" configure_static --disable-xz --disable-xzdec --disable-lzmadec \
		--disable-lzmainfo --disable-lzma-links --disable-scripts --disable-doc --disable-nls
	step "xz: make" make -j"$jobs" -C src/liblzma
	step "xz: install" make -C src/liblzma install
}

build_zstd() {
	src=$(fetch libzstd)
	cd "$src"
	step "zstd: make" make -j"$jobs" -C lib libzstd.a ZSTD_LEGACY_SUPPORT=0
	step "zstd: install" make -C lib install-static install-includes install-pc \
		PREFIX="$R" LIBDIR="$R/lib"
}

build_openssl() {
	src=$(fetch openssl)
	cd "$src"
	# OPENSSLDIR is only a fallback: mambaboot always names its CA bundle.
	step "openssl: configure" ./Configure linux-x86_64 --prefix="$R" --libdir=lib \
		--openssldir=/etc/ssl no-shared no-tests no-engine no-dso no-afalgeng no-async \
		no-legacy no-comp no-ssl3 no-srp no-psk no-idea no-mdc2 no-rc5 no-ui-console \
		-D_FILE_OFFSET_BITS=64
	step "openssl: make" make -j"$jobs" build_libs
	step "openssl: install" make install_dev
}

# A library that needs no options of its own: configure, make, install.
autotools_lib() {
	src=$(fetch "$1")
	cd "$src"
	[ -x configure ] || step "$1: autoreconf" autoreconf -fi
	step "$1: configure" configure_static
	step "$1: make" make -j"$jobs"
	step "$1: install" make install
}

build_yaml() { autotools_lib libyaml; }
build_jansson() { autotools_lib jansson; }

build_curl() {
	src=$(fetch curl)
	cd "$src"
	[ -x configure ] || step "curl: autoreconf" autoreconf -fi
	step "curl: configure" configure_static --with-openssl="$R" --with-zlib="$R" \
		--enable-http --enable-file --enable-proxy --enable-ipv6 --enable-threaded-resolver \
		--disable-ftp --disable-ldap --disable-ldaps --disable-rtsp --disable-dict \
		--disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb \
		--disable-smtp --disable-gopher --disable-mqtt --disable-manual --disable-docs \
		--disable-ntlm --disable-ntlm-wb --disable-kerberos-auth --disable-negotiate-auth \
		--without-gssapi --without-libpsl --without-brotli --without-zstd --without-nghttp2 \
		--without-ngtcp2 --without-nghttp3 --without-libidn2 --without-librtmp \
		--without-libssh --without-libssh2 --without-ca-bundle --without-ca-path \
		--without-ca-fallback
	step "curl: make" make -j"$jobs" -C lib
	step "curl: install" sh -c 'make -C lib install && make -C include install && make install-pkgconfigDATA'
}

build_libarchive() {
	src=$(fetch libarchive)
	cd "$src"
	# Debian's patches touch build files: regenerate with this libtool.
	step "libarchive: autoreconf" autoreconf -fi
	step "libarchive: configure" configure_static --disable-bsdtar --disable-bsdcpio \
		--disable-bsdcat --disable-acl --disable-xattr --with-zlib --with-bz2lib --with-lzma \
		--with-zstd --without-lz4 --without-lzo2 --without-xml2 --without-expat \
		--without-openssl --without-nettle --without-mbedtls --without-cng --without-libb2
	step "libarchive: make" make -j"$jobs" libarchive.la
	step "libarchive: install" sh -c 'make install-libLTLIBRARIES install-includeHEADERS install-pkgconfigDATA'
}

# musl's malloc returns memory to the kernel at once: a no-op install made
# 231 mmap/munmap pairs and took 1.3x the dynamic build's time.  mimalloc,
# linked first, replaces it (the Makefile links lib/mimalloc.o).
build_mimalloc() {
	src=$(fetch mimalloc)
	cd "$src"
	step "mimalloc: compile" $CC $CFLAGS -DNDEBUG -DMI_MALLOC_OVERRIDE -DMI_DEBUG=0 \
		-I include -c src/static.c -o "$R/lib/mimalloc.o"
}

# One subshell each: every builder may cd.
: >"$top/MANIFEST"
for lib in zlib bzip2 xz zstd openssl yaml jansson curl libarchive mimalloc; do
	(build_$lib)
done
echo "musl $musl_version" >>"$top/MANIFEST"
touch "$top/done"
echo "$R"
