# Test channel helpers: recipes over real corpus packages, served from a
# mirror directory (MIRROR/sha256/<hex>), with upstream URLs that cannot be
# reached, so every test runs offline.  Source after tests/lib.sh.
C="$SHARED/corpus"
MIRROR="$T_TMP/mirror"
mkdir -p "$MIRROR/sha256"

# add_blob FILE: put FILE in the mirror, print its sha256.
add_blob() {
	h=$(sha256sum "$1" | cut -d' ' -f1)
	[ -e "$MIRROR/sha256/$h" ] || ln -s "$1" "$MIRROR/sha256/$h"
	echo "$h"
}

# conda_recipe DIR NAME VERSION FILE... [-- DEPENDS...]: a conda recipe whose
# artifacts are corpus files.
conda_recipe() {
	dir=$1 name=$2 version=$3; shift 3
	{
		printf 'name: %s\nversion: "%s"\nkind: conda\nartifacts:\n' "$name" "$version"
		while [ $# -gt 0 ] && [ "$1" != -- ]; do
			printf '  - url: https://upstream.invalid/conda/%s\n    sha256: %s\n' \
				"$(basename "$1")" "$(add_blob "$1")"
			shift
		done
		if [ "${1:-}" = -- ]; then
			shift
			printf 'depends:\n'
			for d in "$@"; do printf '  - "%s"\n' "$d"; done
		fi
	} > "$dir/$name.yaml"
}

# python_recipe DIR: the host's python3 as the external recipe `python`
# (noarch: python packages need one).
python_recipe() {
	printf 'name: python\nversion: ">=3"\nkind: external\ndetect:\n  command: [python3, --version]\n  regex: "Python ([0-9]+\\\\.[0-9]+)"\n' > "$1/python.yaml"
}

# mb_install ARGS...: install offline from the mirror into $P with cache $CACHE.
mb_install() {
	run_mb install --prefix "$P" --cache "$CACHE" --mirror "$MIRROR" --offline "$@"
}
