#!/bin/sh
# bench/llamacpp.sh: llama.cpp on the benchmark's models, same machine, same
# threads, same token ids as bench/run gives ernie-run. Optional: llama.cpp
# comes from the npm package node-llama-cpp (its prebuilt CPU binaries),
# installed once into $XDG_CACHE_HOME/ernie-bench/node (~/.cache/...), never
# globally nor in the repo; without npm/node, or when the install fails, it
# says so on stderr and prints no row (exit 0).
# Converts each bench model once to a bf16 GGUF beside it (bench/gguf.py)
# and prints bench/run's tab-separated rows (measure, value, unit, bound,
# of bound) for prefill and decode tok/s; MODEL names restrict it to some
# of the bench models (default: ernie-0.3b ernie-moe).
# Decode is the best of $LLAMACPP_DECODE_RUNS (5) runs, like ernie-run's.
#   THREADS=2 sh bench/llamacpp.sh [MODEL...]
set -e
THREADS=${THREADS:-${OPENBLAS_NUM_THREADS:-$(nproc)}}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/ernie-bench
PY=/usr/bin/python3
RUNS=${LLAMACPP_DECODE_RUNS:-5}
VERSION=3.22.1
NODE_DIR=$CACHE/node
export LLAMACPP_NODE="$NODE_DIR"

skip() { echo "bench/llamacpp.sh: $*: llama.cpp rows skipped" >&2; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

command -v node >/dev/null || skip "no node"
node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' ||
	skip "node $(node --version) is older than v20"
case $(uname -s)-$(uname -m) in
Linux-x86_64) plat=linux-x64 ;;
Linux-aarch64) plat=linux-arm64 ;;
*) skip "no prebuilt node-llama-cpp binaries for $(uname -s)-$(uname -m)" ;;
esac
if [ ! -f "$NODE_DIR/node_modules/node-llama-cpp/package.json" ] ||
	[ ! -d "$NODE_DIR/node_modules/@node-llama-cpp/$plat" ]; then
	command -v npm >/dev/null || skip "no npm"
	echo "bench/llamacpp.sh: installing node-llama-cpp $VERSION into $NODE_DIR" >&2
	mkdir -p "$NODE_DIR"
	# only this platform's CPU binaries (--omit=optional drops the CUDA,
	# Vulkan and other platforms' packages, ~640 MB)
	npm install --prefix "$NODE_DIR" --omit=optional --save-exact --no-audit --no-fund \
		--loglevel=error "node-llama-cpp@$VERSION" "@node-llama-cpp/$plat@$VERSION" \
		>"$tmp/npm" 2>&1 || skip "npm install failed ($(grep -m 1 'npm error' "$tmp/npm"))"
fi

. bench/inputs.sh
inputs "$tmp"

$PY bench/gen_model.py "$CACHE" || skip "bench/gen_model.py failed"
[ $# -gt 0 ] || set -- ernie-0.3b ernie-moe
for m in "$@"; do
	gguf=$CACHE/$m.gguf
	if [ ! -s "$gguf" ] || [ -n "$(find "$CACHE/$m/model.safetensors" -newer "$gguf")" ]; then
		echo "bench/llamacpp.sh: converting $m to $gguf" >&2
		if ! $PY bench/gguf.py "$CACHE/$m" "$gguf"; then
			echo "bench/llamacpp.sh: $m: conversion failed" >&2
			continue
		fi
	fi
	echo "bench/llamacpp.sh: llama.cpp on $m ($THREADS threads)" >&2
	if node bench/llamacpp.mjs -t "$THREADS" -r "$RUNS" "$gguf" "$tmp/prefill" "$tmp/decode" \
		2>"$tmp/err"; then
		printf 'llama.cpp %s prefill %d, bf16\t%s\ttok/s\t\t\n' "$m" "$PREFILL" \
			"$(awk -v v="$(tps "$tmp/err" "prompt eval")" 'BEGIN { printf "%.1f", v }')"
		printf 'llama.cpp %s decode, best of %d\t%s\ttok/s\t\t\n' "$m" "$RUNS" \
			"$(awk -v v="$(tps "$tmp/err" eval)" 'BEGIN { printf "%.1f", v }')"
	else
		echo "bench/llamacpp.sh: $m: $(tail -n 1 "$tmp/err")" >&2
	fi
done
