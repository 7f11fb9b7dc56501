# mambaboot doctor against fake nvcc, gcc and nvidia-smi on PATH: the traps
# of the hand-made install (wrong GCC for the CUDA version, old driver, old
# glibc, a GPU the kernels are not built for) are reported with their fix.
. "$MB_ROOT/tests/lib.sh"
B="$T_TMP/bin"
mkdir -p "$B"
export CUDA_HOME="$T_TMP/no-cuda"
export PATH="$B:/usr/bin:/bin"

fake() { # NAME OUTPUT
	printf '#!/bin/sh\ncat <<"X"\n%s\nX\n' "$2" > "$B/$1"
	chmod 755 "$B/$1"
}
host() { # NVCC GCC DRIVER CC
	fake nvcc "Cuda compilation tools, release ${1%.*}, V$1"
	fake gcc "$2"
	fake nvidia-smi "$3, $4"
}

host 11.6.124 15.1.0 535.104.05 8.0
run_mb doctor
expect_err "nvcc 11.6 with gcc 15 is refused" 6 "host check"
case $OUT in *"FAIL  nvcc-gcc-11.4"*"fix: nvcc 11.6.124 accepts GCC 6-11, found 15.1.0"*) ok "the gcc limit of nvcc 11.6 is named" ;; *) fail "nvcc/gcc limit" "$OUT" ;; esac
case $OUT in *"FAIL  stack-gcc"*"install the stack's gcc recipe"*) ok "the fix names the stack's gcc recipe" ;; *) fail "stack gcc fix" "$OUT" ;; esac

host 11.6.124 11.4.0 535.104.05 8.0
run_mb doctor
expect_err "nvcc 11.6 with gcc 11 is refused (the stack is pinned to gcc 10)" 6 "1 host check failed"

host 11.6.124 10.4.0 535.104.05 8.0
run_mb doctor
expect_rc "nvcc 11.6 with gcc 10 passes" 0
case $OUT in *"ok    nvcc "*"11.6.124"*) ok "nvcc version reported" ;; *) fail "nvcc version" "$OUT" ;; esac

run_mb doctor mamba
case $OUT in *"WARN  stack"*) fail "a shipped stack is warned about" "$OUT" ;; *) ok "doctor mamba: the stack is known" ;; esac
run_mb doctor mamab
expect_rc "doctor with a stack no rule names still judges the host-wide rules" 0
case $OUT in *"WARN  stack            mamab"*"fix: no rule of compat.yaml names this stack"*) ok "the unknown stack is named as a warning" ;; *) fail "unknown stack not named" "$OUT" ;; esac

host 12.1.105 10.4.0 535.104.05 8.0
run_mb doctor
expect_err "nvcc 12 is refused for the cu118 stack" 6 "host check"

host 11.6.124 10.4.0 440.33.01 8.0
run_mb doctor
expect_rc "a driver older than 450.80.02 fails" 6
case $OUT in *"FAIL  driver           440.33.01"*) ok "the old driver is named" ;; *) fail "old driver named" "$OUT" ;; esac

host 11.6.124 10.4.0 535.104.05 6.1
run_mb doctor
expect_rc "a Pascal GPU is a warning, not a failure" 0
case $OUT in *"WARN  gpu-arch         6.1"*) ok "sm_61 gets no kernel: warned" ;; *) fail "gpu arch warning" "$OUT" ;; esac

host 11.6.124 10.4.0 535.104.05 9.0
run_mb doctor
case $OUT in *"WARN  gpu-sm90"*"fix: an sm_90 GPU"*) ok "sm_90 needs nvcc 11.8: warned" ;; *) fail "sm_90 warning" "$OUT" ;; esac

MAMBABOOT_FAKE_GLIBC=2.12 run_mb doctor
case $OUT in *"FAIL  glibc            2.12"*) ok "glibc 2.12 is too old" ;; *) fail "old glibc" "$OUT" ;; esac

# install runs the checks its plan needs before downloading anything.
R="$T_TMP/r"; mkdir -p "$R"
printf 'name: cuda\nversion: ">=11.6,<12"\nkind: external\ndetect:\n  command: [nvcc, --version]\n  regex: "release ([0-9]+\\\\.[0-9]+)"\n' > "$R/cuda.yaml"
printf 'name: kern\nversion: "1.0"\nkind: source\ndepends: [cuda]\nartifacts:\n  - url: https://upstream.invalid/kern-1.0.tar.gz\n    sha256: %064d\nbuild:\n  script: [make]\n' 0 > "$R/kern.yaml"
host 11.6.124 15.1.0 535.104.05 8.0
run_mb install kern --recipes "$R" --prefix "$T_TMP/p" --cache "$T_TMP/c" --offline
expect_err "install refuses nvcc 11.6 with gcc 15 before downloading" 6 "host check 'nvcc-gcc-11.4' failed"
run_mb install kern --recipes "$R" --prefix "$T_TMP/p" --cache "$T_TMP/c" --offline --skip-checks
expect_rc "--skip-checks goes on (to the download, which fails offline)" 3
host 11.5.119 10.4.0 535.104.05 8.0
run_mb install kern --recipes "$R" --prefix "$T_TMP/p" --cache "$T_TMP/c" --offline
expect_err "an nvcc outside the cuda recipe's range: exit 6 with found and wanted" 6 "cuda: found 11.5 ("

# No nvcc at all: the host's own (Debian's nvidia-cuda-toolkit puts one in
# /usr/bin) is hidden behind a copy of /usr/bin without it.
rm "$B/nvidia-smi" "$B/nvcc"
mkdir -p "$T_TMP/usrbin"
for f in /usr/bin/*; do [ "${f##*/}" = nvcc ] || ln -s "$f" "$T_TMP/usrbin/"; done
PATH="$B:$T_TMP/usrbin" run_mb doctor --json
printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
c = {x["name"]: x for x in d["checks"]}
assert c["nvcc"]["status"] == "fail" and c["nvcc"]["found"] == "not found", c["nvcc"]
assert c["driver"]["status"] == "warn", c["driver"]
assert d["facts"]["gcc_version"] == "10.4.0"
' && ok "doctor --json: no nvcc fails, no driver warns" || fail "doctor --json" "$OUT"
done_testing
