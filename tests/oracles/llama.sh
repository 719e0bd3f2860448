#!/bin/sh
# tests/oracles/llama.sh: builds llama.cpp's own tools from the source that
# npm's node-llama-cpp ships (llama/gitRelease.bundle, a git bundle of the
# release it was built from) and prints the directory holding the binaries.
# The tests and the benchmark use them as oracles and peers; nothing of
# llama.cpp goes into the repository.
#   sh tests/oracles/llama.sh            build once, print the bin directory
#   sh tests/oracles/llama.sh --check    print it if the tests' tools (llama-quantize,
#                                        llama-simple) are built, else exit 1 quietly
#   LLAMA_VARIANT=avx2 sh tests/oracles/llama.sh
#                                        the same, built for AVX2 + FMA + F16C only
#                                        (an AVX2-only host, as bench/quant.sh's
#                                        ISA=avx2 compares), in build-avx2/
# Everything lives in $XDG_CACHE_HOME/ernie-oracles (~/.cache/...):
#   node/                         node-llama-cpp $VERSION (npm, no scripts run)
#   llama.cpp-RELEASE/            the cloned bundle
#   llama.cpp-RELEASE/build/bin/  llama-quantize, llama-simple, llama-server, llama-bench
#   llama.cpp-RELEASE/build-avx2/bin/  LLAMA_VARIANT=avx2's
# A second call only prints the path. The build uses Debian's cmake, -j2,
# GGML_NATIVE, no curl, and only the targets above (LLAMA_TARGETS overrides),
# so that CI stays well inside its time. AMX is left out of the native
# flags: this release's AMX matrix product crashes (SIGSEGV in
# ggml_backend_amx_mul_mat) on every quantised model tried, llama.cpp's own
# files included, on a Sapphire Rapids host. Exit 1 with a message on stderr
# when something is missing (node/npm, cmake, a compiler) or fails: tests
# then report a skip.
set -eu
VERSION=3.22.1
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/ernie-oracles
NODE_DIR=$CACHE/node
TARGETS=${LLAMA_TARGETS:-llama-quantize llama-simple llama-server llama-bench}
JOBS=${LLAMA_JOBS:-2}
case ${LLAMA_VARIANT:-native} in
native) BUILD=build ISA_FLAGS="-DGGML_NATIVE=ON" ;;
avx2) BUILD=build-avx2 ISA_FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF" ;;
*) echo "tests/oracles/llama.sh: LLAMA_VARIANT is native or avx2, not $LLAMA_VARIANT" >&2; exit 1 ;;
esac

fail() { echo "tests/oracles/llama.sh: $*" >&2; exit 1; }

# built TOOL...: print the bin directory holding every TOOL
built() {
	for d in "$CACHE"/llama.cpp-*/"$BUILD"/bin; do
		ok=1
		for t in "$@"; do [ -x "$d/$t" ] || ok=0; done
		[ "$ok" = 1 ] && { echo "$d"; return 0; }
	done
	return 1
}
if [ "${1:-}" = --check ]; then
	built llama-quantize llama-simple || exit 1
	exit 0
fi
# shellcheck disable=SC2086
built $TARGETS && exit 0

for c in node npm git cmake cc c++; do
	command -v $c >/dev/null || fail "no $c: llama.cpp oracles unavailable"
done
mkdir -p "$CACHE"
pkg=$NODE_DIR/node_modules/node-llama-cpp
if [ ! -f "$pkg/llama/gitRelease.bundle" ]; then
	echo "tests/oracles/llama.sh: installing node-llama-cpp $VERSION into $NODE_DIR" >&2
	mkdir -p "$NODE_DIR"
	# the source bundle only: no install scripts (they would fetch or build
	# binaries), no optional per-platform binary packages
	npm install --prefix "$NODE_DIR" --ignore-scripts --omit=optional --save-exact \
		--no-audit --no-fund --loglevel=error "node-llama-cpp@$VERSION" >&2 ||
		fail "npm install node-llama-cpp@$VERSION failed"
	[ -f "$pkg/llama/gitRelease.bundle" ] || fail "node-llama-cpp $VERSION has no llama/gitRelease.bundle"
fi
# the release the bundle holds, as node-llama-cpp records it
release=$(node -p "require('$pkg/llama/llama.cpp.info.json').tag" 2>/dev/null) ||
	fail "cannot tell the llama.cpp release of the bundle"
src=$CACHE/llama.cpp-$release
if [ ! -f "$src/CMakeLists.txt" ]; then
	rm -rf "$src.tmp"
	git -c advice.detachedHead=false clone -q "$pkg/llama/gitRelease.bundle" "$src.tmp" >&2 || fail "cannot clone the bundle"
	mv "$src.tmp" "$src"
fi
echo "tests/oracles/llama.sh: building $TARGETS of llama.cpp $release in $src/$BUILD (-j$JOBS)" >&2
noamx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
# shellcheck disable=SC2086
cmake -S "$src" -B "$src/$BUILD" -DCMAKE_BUILD_TYPE=Release $ISA_FLAGS -DLLAMA_CURL=OFF \
	-DCMAKE_C_FLAGS="$noamx" -DCMAKE_CXX_FLAGS="$noamx" \
	-DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=ON >"$src/$BUILD.log" 2>&1 ||
	fail "cmake configure failed (see $src/$BUILD.log)"
# shellcheck disable=SC2086
cmake --build "$src/$BUILD" -j "$JOBS" --target $TARGETS >>"$src/$BUILD.log" 2>&1 ||
	fail "build failed (see $src/$BUILD.log)"
# shellcheck disable=SC2086
built $TARGETS || fail "the build made no $TARGETS"
