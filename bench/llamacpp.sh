#!/bin/sh
# bench/llamacpp.sh: llama.cpp on the benchmark's models, same machine, same
# threads, same token ids as bench/run gives ernie-run. Optional: llama.cpp
# comes from the npm package node-llama-cpp (its prebuilt CPU binaries),
# installed once into $XDG_CACHE_HOME/ernie-bench/node (~/.cache/...), never
# globally nor in the repo; without npm/node, or when the install fails, it
# says so on stderr and prints no row (exit 0).
# Converts each bench model once to a bf16 GGUF beside it (bench/gguf.py)
# and prints bench/run's tab-separated rows (measure, value, unit, bound,
# of bound) for prefill and decode tok/s.
#   THREADS=2 sh bench/llamacpp.sh
set -e
THREADS=${THREADS:-${OPENBLAS_NUM_THREADS:-$(nproc)}}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/ernie-bench
PY=/usr/bin/python3
PREFILL=512
DECODE=128
VERSION=3.22.1
NODE_DIR=$CACHE/node
export LLAMACPP_NODE="$NODE_DIR"

skip() { echo "bench/llamacpp.sh: $*: llama.cpp rows skipped" >&2; exit 0; }

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
		--loglevel=error "node-llama-cpp@$VERSION" "@node-llama-cpp/$plat@$VERSION" >&2 ||
		skip "npm install failed"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# the same ids as bench/run: one record of N pseudo-random ids
ids() { awk -v n="$1" 'BEGIN { srand(7); for (i = 0; i < n; i++)
	printf "%d%s", 1000 + int(rand() * 90000), i + 1 < n ? " " : "\n" }'; }
ids "$PREFILL" >"$tmp/prefill"
{ ids 1; i=0; while [ $i -lt $DECODE ]; do ids 1; i=$((i + 1)); done; } >"$tmp/decode"
tps() { sed -n "s/^$2: .* \([0-9.]*\) tok\/s.*/\1/p" "$1" | tail -n 1; }

$PY bench/gen_model.py "$CACHE" || skip "bench/gen_model.py failed"
for m in ernie-0.3b ernie-moe; do
	gguf=$CACHE/$m.gguf
	if [ ! -s "$gguf" ] || [ "$CACHE/$m/model.safetensors" -nt "$gguf" ]; then
		echo "bench/llamacpp.sh: converting $m to $gguf" >&2
		if ! $PY bench/gguf.py "$CACHE/$m" "$gguf"; then
			echo "bench/llamacpp.sh: $m: conversion failed" >&2
			continue
		fi
	fi
	echo "bench/llamacpp.sh: llama.cpp on $m ($THREADS threads)" >&2
	if node bench/llamacpp.mjs -t "$THREADS" "$gguf" "$tmp/prefill" "$tmp/decode" \
		2>"$tmp/err"; then
		printf 'llama.cpp %s prefill %d, bf16\t%s\ttok/s\t\t\n' "$m" "$PREFILL" \
			"$(awk -v v="$(tps "$tmp/err" "prompt eval")" 'BEGIN { printf "%.1f", v }')"
		printf 'llama.cpp %s decode\t%s\ttok/s\t\t\n' "$m" \
			"$(awk -v v="$(tps "$tmp/err" eval)" 'BEGIN { printf "%.1f", v }')"
	else
		echo "bench/llamacpp.sh: $m: $(tail -n 1 "$tmp/err")" >&2
	fi
done
