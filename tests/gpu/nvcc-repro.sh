#!/usr/bin/env bash
# Is an nvcc build of the pinned kernels bit-identical? (issue #18)  Needs
# no GPU: nvcc compiles for an architecture it is told, and the question is
# about the bytes it writes.
#
# Builds causal-conv1d v1.2.0's extension (its three .cu files and its .cpp,
# with the flags its setup.py gives nvcc and the C++ compiler, as torch's
# cpp_extension runs them: absolute paths) and links the shared object,
# each time from a fresh unpack, in the environment mambaboot gives a build
# (SOURCE_DATE_EPOCH, TZ=UTC, LC_ALL=C, umask 022):
#   a     in $W/a/src
#   a2    in $W/a/src again: same path, other pids, later clock
#   b     in $W/bb/other-prefix/src: another path, as another prefix gives
#   a-map, b-map: a and b with the build directory and the torch include
#         directory mapped to fixed names (-ffile-prefix-map for the host
#         compiler, through -Xcompiler for nvcc's host side)
# and prints, for each object and the .so, whether a2 and b equal a (and
# b-map a-map); for each difference, the ELF sections that differ and a
# few strings only one side has.
#
#   NVCC=/usr/local/cuda/bin/nvcc ARCH=90 tests/gpu/nvcc-repro.sh
#   NVCC=/usr/bin/nvcc CCBIN=clang-14 ARCH=80 tests/gpu/nvcc-repro.sh
#
#   NVCC      nvcc to measure (default: nvcc on PATH)
#   CCBIN     host compiler for nvcc and the .cpp (default: g++)
#   ARCH      one compute capability without the dot (default 80)
#   PYTHON    a python whose torch gives the include directories (python3)
#   SRC       causal-conv1d-c10bb0dc.tar.gz (default: ../shared/sources)
#   W         work directory (default: a new one under ${TMPDIR:-/tmp})
#   NVFLAGS   more nvcc flags for every build, e.g. "-frandom-seed=1
#             --objdir-as-tempdir" (nvcc 13.0 has both; 11.8 only the second)
#   CU        the .cu files to build (default: all three; causal_conv1d_bwd
#             takes most of the time)
# A torch built without CUDA lacks c10/cuda/impl/cuda_cmake_macros.h: a
# one-line stand-in is put on the include path then (it only says the
# library is shared), and said so.  Exit 0 when the measurement ran.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NVCC=${NVCC:-nvcc} CCBIN=${CCBIN:-g++} ARCH=${ARCH:-80} PYTHON=${PYTHON:-python3}
CU=${CU:-causal_conv1d_fwd causal_conv1d_bwd causal_conv1d_update}
SRC=${SRC:-$ROOT/../shared/sources/causal-conv1d-c10bb0dc.tar.gz}
W=${W:-$(mktemp -d "${TMPDIR:-/tmp}/nvcc-repro.XXXXXX")}
export SOURCE_DATE_EPOCH=1577836800 TZ=UTC LC_ALL=C
umask 022

TI=$("$PYTHON" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "include"))')
PYINC=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
echo "# $("$NVCC" --version | tail -1); .cu: $CU; extra nvcc flags: ${NVFLAGS:-none}; host compiler: $("$CCBIN" --version | head -1); sm_$ARCH"
echo "# torch $("$PYTHON" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda)') at $TI"
SHIM=
if [ ! -e "$TI/c10/cuda/impl/cuda_cmake_macros.h" ]; then
	SHIM=$W/shim
	mkdir -p "$SHIM/c10/cuda/impl"
	printf '#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n' > "$SHIM/c10/cuda/impl/cuda_cmake_macros.h"
	echo "# this torch has no CUDA headers' cmake macros: stand-in in $SHIM"
fi

# One build in directory $1 (made fresh); $2: "map" to map paths away.
build() {
	local d=$1 map=${2:-} s inc cxx nv f
	rm -rf "$d" && mkdir -p "$d/src" "$d/obj"
	tar -xzf "$SRC" -C "$d/src"
	s=$d/src
	inc=(${SHIM:+-I"$SHIM"} -I"$TI" -I"$TI/torch/csrc/api/include" -I"$PYINC" -I"$s/csrc/causal_conv1d")
	cxx=(-fPIC -O3 -std=c++17 -D_GLIBCXX_USE_CXX11_ABI=1 -DTORCH_EXTENSION_NAME=causal_conv1d_cuda)
	nv=(-ccbin "$CCBIN" --compiler-options -fPIC -O3 -std=c++17 -U__CUDA_NO_HALF_OPERATORS__
	    -U__CUDA_NO_HALF_CONVERSIONS__ -U__CUDA_NO_BFLOAT16_OPERATORS__ -U__CUDA_NO_BFLOAT16_CONVERSIONS__
	    -U__CUDA_NO_BFLOAT162_OPERATORS__ -U__CUDA_NO_BFLOAT162_CONVERSIONS__ --expt-relaxed-constexpr
	    --expt-extended-lambda --use_fast_math -lineinfo -gencode "arch=compute_$ARCH,code=sm_$ARCH"
	    --threads 4 -DTORCH_EXTENSION_NAME=causal_conv1d_cuda -D_GLIBCXX_USE_CXX11_ABI=1 ${NVFLAGS:-})
	if [ "$map" = map ]; then
		cxx+=(-ffile-prefix-map="$s"=/build -ffile-prefix-map="$TI"=/torch-include)
		nv+=(-Xcompiler "-ffile-prefix-map=$s=/build,-ffile-prefix-map=$TI=/torch-include")
	fi
	for f in $CU; do
		"$NVCC" -c "$s/csrc/$f.cu" -o "$d/obj/$f.o" "${inc[@]}" "${nv[@]}" 2> "$d/obj/$f.log" ||
			{ tail -20 "$d/obj/$f.log"; exit 1; }
	done
	"$CCBIN" -c "$s/csrc/causal_conv1d.cpp" -o "$d/obj/causal_conv1d.o" "${inc[@]}" "${cxx[@]}" 2> "$d/obj/cpp.log" ||
		{ tail -20 "$d/obj/cpp.log"; exit 1; }
	g++ -shared -o "$d/obj/causal_conv1d_cuda.so" "$d"/obj/*.o
}

# Sections of ELF file $1 that differ from $2, and strings only one has.
explain() {
	local x=$1 y=$2 sec n=0
	for sec in $(readelf -SW "$x" | sed -n 's/^ *\[ *[0-9]*\] \([^ ]*\) .*/\1/p'); do
		objcopy -O binary --only-section="$sec" "$x" "$W/x.sec" 2> /dev/null || continue
		objcopy -O binary --only-section="$sec" "$y" "$W/y.sec" 2> /dev/null || continue
		cmp -s "$W/x.sec" "$W/y.sec" || { printf '%s ' "$sec"; n=$((n + 1)); }
	done
	[ "$n" -gt 0 ] && echo "(sections that differ)" || echo "(no section differs: headers or layout)"
	diff <(strings -n 8 "$x" | sort -u) <(strings -n 8 "$y" | sort -u) | grep '^[<>]' | head -6 |
		cut -c1-150 | sed 's/^/        /' || true
}

compare() { # NAME-A NAME-B
	local f x y
	for f in $(printf '%s.o ' $CU) causal_conv1d.o causal_conv1d_cuda.so; do
		x=$W/$1/obj/$f y=$W/$2/obj/$f
		if cmp -s "$x" "$y"; then
			printf '  %-8s vs %-8s %-26s same     %s\n' "$2" "$1" "$f" "$(sha256sum < "$x" | cut -c1-16)"
		else
			printf '  %-8s vs %-8s %-26s differs  ' "$2" "$1" "$f"
			explain "$x" "$y"
		fi
	done
}

t0=$(date +%s)
build "$W/a" && mv "$W/a" "$W/a1"
build "$W/a" && mv "$W/a" "$W/a2" && mv "$W/a1" "$W/a" # a2: at a's own path
build "$W/bb/other-prefix" && ln -sfn bb/other-prefix "$W/b"
build "$W/amap" map
build "$W/bb/other-prefix-map" map && ln -sfn bb/other-prefix-map "$W/bmap"
echo "# five builds in $(($(date +%s) - t0)) s, in $W"
compare a a2
compare a b
compare amap bmap
