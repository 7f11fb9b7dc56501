# GPU architectures of CUDA builds (issue #16): the host's GPUs by default
# (a fake nvidia-smi with two GPUs), a user's TORCH_CUDA_ARCH_LIST over
# them, --cuda-arch over both; an arch the nvcc cannot build is exit 6
# before any download; the list reaches the build, plan, state and doctor.
. "$MB_ROOT/tests/lib.sh"
. "$MB_ROOT/tests/channel.sh"
B="$T_TMP/bin" R="$T_TMP/recipes" CACHE="$T_TMP/cache"
mkdir -p "$B" "$R" "$T_TMP/src/kern-1.0"
export CUDA_HOME="$T_TMP/no-cuda" PATH="$B:/usr/bin:/bin"
unset TORCH_CUDA_ARCH_LIST
fake() { printf '#!/bin/sh\ncat <<"X"\n%s\nX\n' "$2" > "$B/$1"; chmod 755 "$B/$1"; }
fake nvcc "Cuda compilation tools, release 11.8, V11.8.89"
fake gcc "10.4.0"
fake nvidia-smi "535.104.05, 9.0
535.104.05, 8.0
535.104.05, 9.0"
sed -i "2i echo ran >> $T_TMP/smi.log" "$B/nvidia-smi" # each run counted

echo 'kernels' > "$T_TMP/src/kern-1.0/README"
(cd "$T_TMP/src" && tar -czf ../kern-1.0.tar.gz kern-1.0)
sha=$(add_blob "$T_TMP/kern-1.0.tar.gz")
printf 'name: cuda\nversion: ">=11.6"\nkind: external\ndetect:\n  command: [nvcc, --version]\n  regex: "release ([0-9]+\\\\.[0-9]+)"\n' > "$R/cuda.yaml"
kern() { # [ENV-LINE]: the recipe, its build env holding ENV-LINE if given
	cat > "$R/kern.yaml" <<Y
name: kern
version: "1.0"
kind: source
depends: [cuda]
artifacts:
  - url: https://upstream.invalid/kern-1.0.tar.gz
    sha256: $sha
build:
${1:+  env:
    $1
}  script:
    - 'mkdir -p "\$PREFIX/share" && printf "%s" "\${TORCH_CUDA_ARCH_LIST-unset}" > "\$PREFIX/share/arch"'
    - 'printf "%s" "\${NVCC_APPEND_FLAGS-unset}" > "\$PREFIX/share/nvflags"'
Y
}
kern
inst() { P="$T_TMP/p$1"; shift; mb_install kern --recipes "$R" "$@"; }
arch_of() { cat "$T_TMP/p$1/share/arch" 2>/dev/null; }

run_mb plan kern --recipes "$R"
case $OUT in *"CUDA architectures: 8.0;9.0 (from nvidia-smi)"*) ok "plan prints both GPUs' archs, deduplicated" ;; *) fail "plan archs" "$OUT" "$ERR" ;; esac

rm -f "$T_TMP/smi.log"
inst 1
expect_rc "install builds with the detected archs" 0
[ "$(wc -l < "$T_TMP/smi.log")" = 1 ] && ok "an install asks nvidia-smi once" ||
	fail "nvidia-smi runs" "$(wc -l < "$T_TMP/smi.log")"
[ "$(arch_of 1)" = "8.0;9.0" ] && ok "the build gets TORCH_CUDA_ARCH_LIST=8.0;9.0 from two different GPUs" || fail "detected archs" "$(arch_of 1)"
case $ERR in *"CUDA architectures: 8.0;9.0 (from nvidia-smi)"*) ok "install prints the list and where it came from" ;; *) fail "install prints archs" "$ERR" ;; esac
case $ERR in *"kern: build step 1 done in "*" s"*) ok "install prints each build step's wall time" ;; *) fail "step time printed" "$ERR" ;; esac
grep -q '"cuda_arch": "8.0;9.0"' "$T_TMP/p1/.mambaboot/state.json" && ok "the list is recorded in the prefix state" || fail "state" "$(cat "$T_TMP/p1/.mambaboot/state.json")"
run_mb doctor --prefix "$T_TMP/p1"
case $OUT in *"ok    cuda-arch kern   8.0;9.0"*) ok "doctor shows the recorded list, covering this host's GPUs" ;; *) fail "doctor arch" "$OUT" ;; esac
grep -q '^mambaboot: build step 1 done in .* s$' "$T_TMP/p1/.mambaboot/logs/kern.log" &&
	ok "the build log has each step's wall time" || fail "step time in log" "$(cat "$T_TMP/p1/.mambaboot/logs/kern.log")"
grep -q '^mambaboot: TORCH_CUDA_ARCH_LIST=8.0;9.0$' "$T_TMP/p1/.mambaboot/logs/kern.log" &&
	ok "the build log names the list" || fail "list in log"

[ "$(cat "$T_TMP/p1/share/nvflags")" = unset ] &&
	ok "an nvcc without -frandom-seed (11.8) gets no reproducibility flags" || fail "nvflags 11.8" "$(cat "$T_TMP/p1/share/nvflags")"

inst 1
case $ERR in *"up to date: nothing to do"*) ok "the same GPUs again: nothing to do" ;; *) fail "reinstall same archs" "$ERR" ;; esac
inst 1 --cuda-arch 9.0
[ "$RC" -eq 0 ] && [ "$(arch_of 1)" = "9.0" ] && ok "another list rebuilds what was built for the old one" || fail "rebuild for new archs" "rc $RC: $(arch_of 1) $ERR"
mv "$B/nvidia-smi" "$B/nvidia-smi.off"
inst 1
case $ERR in *"nothing to do"*) ok "no GPU and nothing set: what was built stays" ;; *) fail "no gpu keeps" "$ERR" ;; esac
mv "$B/nvidia-smi.off" "$B/nvidia-smi"

# An nvcc that takes -frandom-seed (13.0) gets a fixed seed and its
# temporary files beside the objects (tests/gpu/nvcc-repro.sh measured why),
# after whatever the recipe's env already had.
printf '#!/bin/sh\ncase "$1" in --help) echo "--frandom-seed <seed> (-frandom-seed)" ;; *) echo "Cuda compilation tools, release 13.0, V13.0.88" ;; esac\n' > "$B/nvcc"
inst 9 --cuda-arch 9.0
[ "$RC" -eq 0 ] && [ "$(cat "$T_TMP/p9/share/nvflags")" = "-frandom-seed=1577836800 --objdir-as-tempdir" ] &&
	grep -q '^mambaboot: NVCC_APPEND_FLAGS=-frandom-seed=1577836800 --objdir-as-tempdir$' "$T_TMP/p9/.mambaboot/logs/kern.log" &&
	ok "nvcc 13 builds get NVCC_APPEND_FLAGS for reproducible objects, and the log says so" ||
	fail "nvflags 13.0" "rc $RC $(cat "$T_TMP/p9/share/nvflags" 2>&1)" "$ERR"
kern 'NVCC_APPEND_FLAGS: "-O3"'
inst 10 --cuda-arch 9.0
[ "$(cat "$T_TMP/p10/share/nvflags")" = "-O3 -frandom-seed=1577836800 --objdir-as-tempdir" ] &&
	ok "they come after the recipe's own NVCC_APPEND_FLAGS" || fail "nvflags appended" "$(cat "$T_TMP/p10/share/nvflags" 2>&1)" "$ERR"
fake nvcc "Cuda compilation tools, release 11.8, V11.8.89"
kern

TORCH_CUDA_ARCH_LIST="7.5 8.6" inst 2
[ "$(arch_of 2)" = "7.5;8.6" ] && ok "a user's TORCH_CUDA_ARCH_LIST wins over the GPUs" || fail "env archs" "$(arch_of 2)"

TORCH_CUDA_ARCH_LIST="7.5" inst 3 --cuda-arch "8.6;8.0"
[ "$(arch_of 3)" = "8.0;8.6" ] && ok "--cuda-arch wins over TORCH_CUDA_ARCH_LIST and the GPUs" || fail "option archs" "$(arch_of 3)"

inst 4 --cuda-arch sm_90
expect_err "a malformed --cuda-arch is bad input" 2 "'sm_90' is not a CUDA architecture"

fake nvcc "Cuda compilation tools, release 11.6, V11.6.124"
inst 5 --cuda-arch 9.0 --cache "$T_TMP/cache5"
expect_err "nvcc 11.6 with --cuda-arch 9.0: exit 6 naming both" 6 "CUDA architecture 9.0 cannot be built by nvcc 11.6.124"
[ -z "$(find "$T_TMP/cache5" -type f -path '*blobs*' 2>/dev/null)" ] && [ ! -e "$T_TMP/p5/share" ] &&
	ok "nothing was downloaded or built" || fail "downloaded anyway" "$(find "$T_TMP/cache5" -type f)"

fake nvcc "Cuda compilation tools, release 11.8, V11.8.89"
rm "$B/nvidia-smi"
inst 6
[ "$(arch_of 6)" = "unset" ] && ok "no GPU and no setting: TORCH_CUDA_ARCH_LIST stays unset" || fail "no gpu" "$(arch_of 6)"
case $ERR in *"warning: no GPU found"*) ok "and a warning says setup.py chooses" ;; *) fail "no-gpu warning" "$ERR" ;; esac
done_testing
