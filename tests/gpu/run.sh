#!/usr/bin/env bash
# The GPU run of issue #16, in one command: build the pinned causal-conv1d and
# mamba kernels with mambaboot on a host that brings its own torch (stack
# mamba-host), offline, then check them against their references.
#
#   MB=/path/to/static/mambaboot SRC=.gpu-src OUT=/somewhere tests/gpu/run.sh
#
#   MB    the mambaboot binary (required; the static one on the GPU host)
#   SRC   directory holding causal-conv1d-c10bb0dc.tar.gz and
#         mamba-2845255a.tar.gz (default: .gpu-src, else ../shared/sources)
#   OUT   where every output goes (default: ./gpu-out); the work directory
#         (mirror, cache, prefix) is $WORK, default ${TMPDIR:-/tmp}/mb-gpu.$$
#   JOBS  build parallelism, MAX_JOBS (default: nproc)
#
# Steps: preflight (fails fast, naming what is missing) -> mirror from SRC ->
# doctor -> install mamba-host (causal-conv1d, then mamba-ssm; the CUDA
# architectures detected) -> `mambaboot run -- python3 tests/gpu/check.py`.
# Exit 0 only when every step and every check passed.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@" # `sh run.sh` too
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/run.log") 2>&1
T0=$(date +%s)
say() { printf '==> [%s +%ss] %s\n' "$(date -u +%H:%M:%S)" "$(($(date +%s) - T0))" "$*"; }
die() { printf '==> FAILED: %s\n' "$*"; exit 1; }
# The device runner brings back 8 files: everything but run.log and
# check.txt goes into details.tar.gz at the end.
pack() {
	(cd "$OUT" && find . -mindepth 1 -maxdepth 1 ! -name run.log ! -name check.txt \
		! -name details.tar.gz -print | sed 's|^\./||' | tar -czf details.tar.gz -T - &&
		find . -mindepth 1 -maxdepth 1 ! -name run.log ! -name check.txt \
			! -name details.tar.gz -exec rm -rf {} +) 2>/dev/null || true
}
trap 'rc=$?; [ "$rc" -eq 0 ] || say "exit $rc (see $OUT/run.log)"; pack' EXIT

# ---- preflight: everything the one try needs, checked before any work ----
say "preflight"
[ -n "${MB:-}" ] || die "MB is not set: MB=/path/to/static/mambaboot $0"
case $MB in /*) ;; *) MB=$PWD/$MB ;; esac
[ -x "$MB" ] || die "MB=$MB is not an executable file"
"$MB" --version || die "$MB does not run here"
if [ -z "${SRC:-}" ]; then
	if [ -d "$ROOT/.gpu-src" ]; then SRC=$ROOT/.gpu-src; else SRC=$ROOT/../shared/sources; fi
fi
CC_TGZ=$SRC/causal-conv1d-c10bb0dc.tar.gz MAMBA_TGZ=$SRC/mamba-2845255a.tar.gz
for f in "$CC_TGZ" "$MAMBA_TGZ"; do [ -r "$f" ] || die "source archive $f is missing (SRC=$SRC)"; done
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
	export PATH=/usr/local/cuda/bin:$PATH
fi
command -v nvcc >/dev/null || die "no nvcc on PATH or in /usr/local/cuda/bin"
export CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$(command -v nvcc)")")}
for t in python3 gcc g++ nvidia-smi; do command -v "$t" >/dev/null || die "$t is not on PATH"; done
if ! command -v patch >/dev/null; then
	# mambaboot applies patches with patch(1); git apply does the same job.
	command -v git >/dev/null || die "neither patch nor git is installed: mambaboot needs patch(1)"
	mkdir -p "$OUT/shim"
	cat > "$OUT/shim/patch" <<'SHIM'
#!/bin/sh
# patch(1) for mambaboot's call: -p1 --forward --batch ... [--dry-run] -d DIR -i FILE
check= dir=. file=
while [ $# -gt 0 ]; do
	case $1 in --dry-run) check=--check ;; -d) dir=$2; shift ;; -i) file=$2; shift ;; esac
	shift
done
exec git -C "$dir" apply $check -p1 "$file"
SHIM
	chmod 755 "$OUT/shim/patch"
	export PATH=$OUT/shim:$PATH
	say "no patch(1): using git apply through $OUT/shim/patch"
fi
python3 - <<'PY' || die "the host's python3 cannot build the kernels (see above)"
import importlib.util, sys
import torch
print("python", sys.version.split()[0], sys.executable)
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
assert torch.cuda.is_available(), "torch sees no GPU"
missing = [m for m in ("setuptools", "wheel", "packaging", "einops", "ninja")
           if importlib.util.find_spec(m) is None]
print("pip:", importlib.util.find_spec("pip") is not None, "missing modules:", missing or "none")
assert not [m for m in missing if m in ("setuptools", "wheel", "packaging")], \
    "setup.py of both packages imports setuptools, wheel and packaging"
if "einops" in missing:
    print("WARNING: einops is missing: the mamba checks will fail to import")
PY
command -v ninja >/dev/null || say "WARNING: no ninja on PATH: torch compiles one file at a time (too slow for 10 minutes)"
nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader
nvcc --version | tail -n 2
gcc --version | head -n 1
JOBS=${JOBS:-$(nproc)}
[ "$JOBS" -gt 256 ] && JOBS=256
say "JOBS=$JOBS (MAX_JOBS of the builds)"
# The static binary reads the host's glibc from its loader; getconf says
# what it should find.
say "glibc: $(getconf GNU_LIBC_VERSION 2>/dev/null || echo none) (getconf)"
# The architecture list must come from the GPUs (nvidia-smi), as on a user's
# host: this image sets TORCH_CUDA_ARCH_LIST itself, which would win.
if [ -n "${TORCH_CUDA_ARCH_LIST:-}" ]; then
	say "unsetting TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST (set by the image) to test detection"
	unset TORCH_CUDA_ARCH_LIST
fi
export MAMBABOOT_COMPAT=$ROOT/share/mambaboot/compat.yaml
RECIPES=$ROOT/recipes-host

# ---- a mirror made from the source archives ----
WORK=${WORK:-${TMPDIR:-/tmp}/mb-gpu.$$}
MIRROR=$WORK/mirror P=$WORK/prefix CACHE=$WORK/cache
rm -rf "$P"
mkdir -p "$MIRROR/sha256" "$MIRROR/tree_sha256" "$CACHE"
say "mirror $MIRROR from $SRC"
for f in "$CC_TGZ" "$MAMBA_TGZ"; do
	d=$("$MB" digest "$f") || die "mambaboot digest $f failed"
	echo "$d"
	sha=$(printf '%s\n' "$d" | sed -n 's/^sha256: //p')
	tree=$(printf '%s\n' "$d" | sed -n 's/^tree_sha256: //p')
	[ -n "$sha" ] && [ -n "$tree" ] || die "no digests for $f"
	grep -q "tree_sha256: $tree" "$RECIPES"/*.yaml || die "$f: tree_sha256 $tree is pinned by no recipe in $RECIPES"
	cp "$f" "$MIRROR/sha256/$sha"
	ln -sf "../sha256/$sha" "$MIRROR/tree_sha256/$tree"
done

# ---- GPU_MODE=repro: is a CUDA build bit-reproducible? ----
# causal-conv1d built twice into the same prefix path (as two cluster nodes
# with one prefix path would), each with its own cache (so the second is no
# cache hit), the first moved aside before the second; then the installed
# files compared.  Other paths: tests/gpu/nvcc-repro.sh (no GPU needed).
if [ "${GPU_MODE:-check}" = repro ]; then
	for n in 1 2; do
		say "repro: build $n of causal-conv1d into $WORK/r"
		"$MB" install causal-conv1d --recipes "$RECIPES" --prefix "$WORK/r" --cache "$WORK/rc$n" \
			--mirror "$MIRROR" --offline -j "$JOBS" > "$OUT/repro-$n.txt" 2>&1 ||
			die "build $n failed: $(tail -n 3 "$OUT/repro-$n.txt")"
		grep 'build step' "$OUT/repro-$n.txt" || true
		mv "$WORK/r" "$WORK/r$n"
	done
	say "repro: each installed file, by sha256"
	(cd "$WORK/r1" && find lib -type f | grep -v '/RECORD$' | sort) | while read -r f; do
		a=$(sha256sum < "$WORK/r1/$f" | cut -c1-16)
		b=$(sha256sum < "$WORK/r2/$f" 2>/dev/null | cut -c1-16)
		if [ "$a" = "$b" ]; then echo "same    $f"; else echo "differs $f ($a / $b)"; fi
	done | tee "$OUT/repro.txt"
	for n in 1 2; do
		so=$(find "$WORK/r$n" -name 'causal_conv1d_cuda*.so' | head -n 1)
		say "repro: $so: $(grep -a -o "$WORK/r/[^[:cntrl:]]*" "$so" | sort -u | head -n 3 | tr '\n' ' ')"
	done
	say "repro: the kept wheels (the build cache's outputs)"
	sha256sum "$WORK"/rc[12]/builds/*/*.whl | tee -a "$OUT/repro.txt"
	"$MB" build-key causal-conv1d --recipes "$RECIPES" | head -n 1
	exit 0
fi

# ---- plan and host checks ----
say "plan mamba-host"
"$MB" plan mamba-host --recipes "$RECIPES" | tee "$OUT/plan.txt"
c=$(grep -n ' causal-conv1d ' "$OUT/plan.txt" | cut -d: -f1)
m=$(grep -n ' mamba-ssm ' "$OUT/plan.txt" | cut -d: -f1)
[ -n "$c" ] && [ -n "$m" ] && [ "$c" -lt "$m" ] || die "the plan does not build causal-conv1d before mamba-ssm"
say "doctor mamba-host (a failure here is reported; install decides)"
"$MB" doctor mamba-host | tee "$OUT/doctor-before.txt" || true

# ---- the install: both builds ----
say "install mamba-host into $P (offline, -j $JOBS)"
t=$(date +%s)
set +e
"$MB" install mamba-host --recipes "$RECIPES" --prefix "$P" --cache "$CACHE" \
	--mirror "$MIRROR" --offline -j "$JOBS" 2>&1 | tee "$OUT/install.txt"
rc=${PIPESTATUS[0]}
set -e
mkdir -p "$OUT/logs"
cp "$P"/.mambaboot/logs/*.log "$OUT/logs/" 2>/dev/null || true
cp "$P"/.mambaboot/state.json "$OUT/state.json" 2>/dev/null || true
say "install exited $rc after $(($(date +%s) - t)) s"
for l in "$OUT"/logs/*.log; do
	[ -e "$l" ] || continue
	echo "--- first lines of $l"; grep '^mambaboot: ' "$l" | head -n 14
	echo "--- step times in $l"; grep '^mambaboot: build step' "$l" || true
done
[ "$rc" -eq 0 ] || die "install failed (exit $rc); logs in $OUT/logs"
grep -q 'CUDA architectures: 9\.0 (from nvidia-smi' "$OUT/install.txt" ||
	die "sm_90 was not detected from nvidia-smi (see install.txt)"
c=$(grep -n 'build.* causal-conv1d' "$OUT/install.txt" | head -n 1 | cut -d: -f1)
m=$(grep -n 'build.* mamba-ssm' "$OUT/install.txt" | head -n 1 | cut -d: -f1)
[ -n "$c" ] && [ -n "$m" ] && [ "$c" -lt "$m" ] || die "causal-conv1d was not built before mamba-ssm"
"$MB" verify --prefix "$P" || die "verify found the prefix changed"
"$MB" list --prefix "$P" | tee "$OUT/list.txt"
"$MB" doctor mamba-host --prefix "$P" | tee "$OUT/doctor-after.txt" || true

# ---- the kernels against their references ----
say "checks: mambaboot run --prefix $P -- python3 tests/gpu/check.py"
set +e
"$MB" run --prefix "$P" -- python3 "$ROOT/tests/gpu/check.py" 2>&1 | tee "$OUT/check.txt"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 0 ] || die "checks failed (exit $rc)"
say "all passed in $(($(date +%s) - T0)) s"
