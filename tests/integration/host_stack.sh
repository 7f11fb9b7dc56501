# The shipped patches and the mamba-host set (issue #16).  The patches
# apply through mambaboot's own patch step to the pinned trees in
# $SHARED/sources (read there, never copied into the repository), and the
# patched files say what they must; both stacks build causal-conv1d before
# mamba-ssm.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/channel.sh"
S="$SHARED/sources" R="$T_TMP/recipes" CACHE="$T_TMP/cache" P="$T_TMP/prefix"
mkdir -p "$R" "$MIRROR/tree_sha256"

order() { # OUTPUT: causal-conv1d's line comes before mamba-ssm's
	c=$(printf '%s\n' "$1" | grep -n ' causal-conv1d ' | cut -d: -f1)
	m=$(printf '%s\n' "$1" | grep -n ' mamba-ssm ' | cut -d: -f1)
	[ -n "$c" ] && [ -n "$m" ] && [ "$c" -lt "$m" ]
}
run_mb plan mamba --recipes "$MB_ROOT/recipes"
order "$OUT" && ok "plan mamba builds causal-conv1d before mamba-ssm" || fail "mamba order" "$OUT"
run_mb plan mamba-host --recipes "$MB_ROOT/recipes-host"
order "$OUT" && ok "plan mamba-host builds causal-conv1d before mamba-ssm" || fail "mamba-host order" "$OUT" "$ERR"
case $OUT in *"python "*external*"torch "*external*"cuda "*external*"gcc "*external*) ok "mamba-host takes python, torch, cuda and gcc from the host" ;; *) fail "externals" "$OUT" ;; esac

# A recipe per pinned tree, with the shipped recipe's artifact and patches
# (copied from recipes-host/NAME.yaml), whose build copies out the files
# the patches change.  The tree is found in the mirror by its tree_sha256.
patched() { # NAME ARCHIVE FILE...
	name=$1 archive=$2; shift 2
	tree=$("$MB" digest "$archive" | sed -n 's/^tree_sha256: //p')
	ln -s "$archive" "$MIRROR/tree_sha256/$tree"
	{
		sed -n '/^name:/,/^build:/p' "$MB_ROOT/recipes-host/$name.yaml" | sed '/^depends:/,/^artifacts:/{/^artifacts:/!d}; /^build:/d'
		printf 'build:\n  script:\n'
		for f in "$@"; do printf "    - 'mkdir -p \"\$PREFIX/share/patched/%s\" && cp %s \"\$PREFIX/share/patched/%s/\"'\n" "$name" "$f" "$name"; done
	} > "$R/$name.yaml"
}
[ -r "$S/causal-conv1d-c10bb0dc.tar.gz" ] || fail "the pinned trees are in \$SHARED/sources" "SHARED=$SHARED"
patched causal-conv1d "$S/causal-conv1d-c10bb0dc.tar.gz" setup.py
patched mamba-ssm "$S/mamba-2845255a.tar.gz" setup.py csrc/selective_scan/reverse_scan.cuh
mb_install causal-conv1d mamba-ssm --recipes "$R" --patches "$MB_ROOT/patches"
expect_rc "the shipped patches apply to the pinned trees (offline, by tree_sha256)" 0
grep -c '^mambaboot: applied patch' "$P/.mambaboot/logs/mamba-ssm.log" | grep -qx 2 &&
	ok "mamba-ssm's two patches were applied by mambaboot's patch step" || fail "applied" "$ERR"

tree=$("$MB" digest "$S/mamba-2845255a.tar.gz" | sed -n 's/^tree_sha256: //p')
run_mb mirror create "$T_TMP/m2" mamba-ssm --recipes "$R" --patches "$MB_ROOT/patches" --mirror "$MIRROR" --offline --cache "$CACHE"
expect_rc "mirror create takes a tree-pinned source" 0
cmp -s "$T_TMP/m2/tree_sha256/$tree" "$S/mamba-2845255a.tar.gz" && ok "and the mirror finds it by its tree_sha256" ||
	fail "tree link" "$(ls -l "$T_TMP/m2" "$T_TMP/m2/tree_sha256" 2>&1)"

D="$P/share/patched"
# What setup.py's nvcc flags come to, with and without TORCH_CUDA_ARCH_LIST:
# the cc_flag block of the patched file, run on its own.
cc_flags() { # SETUP_PY ENV...
	f=$1; shift
	env "$@" python3 - "$f" <<'PY'
import os, re, sys
def Version(v):  # packaging's, for the comparison setup.py makes
    return tuple(int(x) for x in v.split("."))
src = open(sys.argv[1]).read()
start = src.index("    cc_flag = []")
block = src[start:src.index("    # HACK", start)]
block = re.sub(r"    if CUDA_HOME is not None:.*?\n\n", "", block, flags=re.S)
ns = {"os": os, "Version": Version, "bare_metal_version": Version("12.4")}
exec("\n".join(l[4:] for l in block.splitlines()), ns)
print(" ".join(ns["cc_flag"]))
PY
}
for n in causal-conv1d mamba-ssm; do
	with=$(cc_flags "$D/$n/setup.py" TORCH_CUDA_ARCH_LIST=9.0)
	without=$(cc_flags "$D/$n/setup.py" TORCH_CUDA_ARCH_LIST=)
	[ -z "$with" ] && ok "$n setup.py adds no -gencode when TORCH_CUDA_ARCH_LIST is set" || fail "$n with list" "$with"
	case $without in *"arch=compute_70,code=sm_70"*"arch=compute_90,code=sm_90"*) ok "$n setup.py keeps its own list when it is not" ;; *) fail "$n without list" "$without" ;; esac
done
cuh="$D/mamba-ssm/reverse_scan.cuh"
! grep -q 'cub::LaneId\|cub::CTA_SYNC' "$cuh" && ok "reverse_scan.cuh uses neither cub::LaneId nor cub::CTA_SYNC" || fail "cub left" "$(grep -n 'cub::LaneId\|cub::CTA_SYNC' "$cuh")"
grep -q 'lane_id(threadIdx.x & 0x1f)' "$cuh" && [ "$(grep -c '__syncthreads();' "$cuh")" -ge 2 ] &&
	ok "it takes the lane from threadIdx.x and syncs with __syncthreads()" || fail "replacements" "$(grep -n 'lane_id(\|syncthreads' "$cuh")"
for f in "$MB_ROOT"/patches/*/*.patch; do
	head -n 1 "$f" | grep -q '^---' && fail "$(basename "$f") has a header" || ok "$(basename "$f") has a header"
	grep -q '^Upstream later:' "$f" && grep -q '^Why:' "$f" && grep -q '^What:' "$f" &&
		ok "$(basename "$f") says what, why and what upstream did" || fail "$(basename "$f") header"
done

# compat.yaml rules scoped to stacks: nvcc 13 with gcc 13 fails the default
# stack's rules, not mamba-host's; a torch built for another CUDA major than
# nvcc's is refused at install, before any download.
B="$T_TMP/bin" FT="$T_TMP/faketorch"
mkdir -p "$B" "$FT/torch"
fake() { printf '#!/bin/sh\ncat <<"X"\n%s\nX\n' "$2" > "$B/$1"; chmod 755 "$B/$1"; }
fake nvcc "Cuda compilation tools, release 13.0, V13.0.48"
fake gcc "13.3.0"
fake nvidia-smi "580.65.06, 9.0"
printf '__version__ = "2.11.0+cu130"\nclass version:\n    cuda = "12.8"\n' > "$FT/torch/__init__.py"
PATH="$B:$PATH" CUDA_HOME="$T_TMP/no-cuda" run_mb doctor
case $OUT in *"FAIL  nvcc "*"13.0.48"*) ok "doctor (stack mamba): nvcc 13 fails the default stack's rule" ;; *) fail "mamba rules" "$OUT" ;; esac
PATH="$B:$PATH" CUDA_HOME="$T_TMP/no-cuda" run_mb doctor mamba-host
case $OUT in *"FAIL  nvcc "*|*"stack-gcc"*) fail "mamba-host judged by the default stack's rules" "$OUT" ;; *"ok    host-nvcc"*"13.0.48"*) ok "doctor mamba-host: the default stack's nvcc and gcc rules do not fire" ;; *) fail "mamba-host rules" "$OUT" ;; esac
expect_rc "and nvcc 13 with gcc 13 passes for mamba-host" 0
PATH="$B:$PATH" CUDA_HOME="$T_TMP/no-cuda" PYTHONPATH="$FT" run_mb install mamba-host --recipes "$MB_ROOT/recipes-host" \
	--prefix "$T_TMP/host" --cache "$T_TMP/hostcache" --mirror "$MIRROR" --offline
expect_err "a cu128 torch with nvcc 13: exit 6 before any download" 6 "host check 'torch-cuda-major-13' failed (found 12.8)"
[ ! -d "$T_TMP/hostcache/blobs" ] || [ -z "$(find "$T_TMP/hostcache/blobs" -type f)" ] && ok "nothing was downloaded" || fail "downloaded"
done_testing
