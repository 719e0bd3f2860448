// bench/llamacpp.mjs: time llama.cpp (through the npm package node-llama-cpp,
// CPU only) on a GGUF model the way bench/run times ernie-run, and print
//   prompt eval: N tokens, X ms, Y tok/s   (one batch of the prefill ids,
//                                           logits of the last position)
//   eval: N tokens, X ms, Y tok/s          (after a fresh 1-token prompt, one
//                                           token per step, logits each step)
// on stderr, in ernie-run -v's format. Times are wall-clock around each
// node-llama-cpp call (LlamaContextSequence.evaluate with raw token ids);
// the context keeps llama.cpp's defaults (f16 KV cache, flash attention
// "auto", i.e. on for CPU).
// --logits OUT instead evaluates the ids as one batch (f32 KV cache, no
// flash attention) and writes the logits of every position to OUT (float32
// little-endian, [T][vocab]), to check a converted model against golden
// logits (bench/gguf.py --f32 for a check free of bf16 rounding).
//
// -r RUNS repeats the decode (fresh sequence each time) and reports the
// fastest, as bench/run does for ernie-run's decode.
//
// Usage: node bench/llamacpp.mjs [-t THREADS] [-r RUNS] MODEL.gguf PREFILL_IDS DECODE_IDS
//        node bench/llamacpp.mjs [-t THREADS] --logits OUT MODEL.gguf IDS
// ID files hold whitespace-separated token ids. node-llama-cpp is imported
// from the npm prefix $LLAMACPP_NODE (default ~/.cache/ernie-bench/node).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const die = (msg) => { process.stderr.write(`llamacpp.mjs: ${msg}\n`); process.exit(1); };
const usage = "usage: llamacpp.mjs [-t THREADS] [-r RUNS] MODEL.gguf PREFILL_IDS DECODE_IDS | " +
	"llamacpp.mjs [-t THREADS] --logits OUT MODEL.gguf IDS";

let args = process.argv.slice(2), threads = Number(process.env.THREADS || 2), logitsOut = null;
let runs = 1;
while (args.length && args[0].startsWith("-")) {
	const o = args.shift();
	if (o === "-t") threads = Number(args.shift());
	else if (o === "-r") runs = Number(args.shift());
	else if (o === "--logits") logitsOut = args.shift();
	else die(usage);
}
if (!(threads > 0) || !(runs >= 1) || args.length !== (logitsOut ? 2 : 3)) die(usage);
const ids = (f) => fs.readFileSync(f, "utf8").trim().split(/\s+/).map(Number);

const prefix = process.env.LLAMACPP_NODE ||
	path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "ernie-bench", "node");
let entry;
try {
	entry = createRequire(path.join(prefix, "package.json")).resolve("node-llama-cpp");
} catch {
	die(`node-llama-cpp not installed under ${prefix}`);
}
const { getLlama, LlamaLogLevel } = await import(pathToFileURL(entry).href);

// prebuilt CPU binaries only: never fall back to compiling llama.cpp
const llama = await getLlama({
	gpu: false, build: "never", maxThreads: threads,
	logLevel: LlamaLogLevel.error, progressLogs: false,
});
const model = await llama.loadModel({ modelPath: args[0], gpuLayers: 0 });
const now = () => performance.now();

if (logitsOut) {
	const toks = ids(args[1]);
	const ctx = await model.createContext({
		contextSize: Math.max(256, toks.length), batchSize: Math.max(256, toks.length),
		threads, sequences: 1,
		flashAttention: false,  // CPU flash attention rounds through f16
		experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
	});
	const seq = ctx.getSequence();
	const res = await seq.controlledEvaluate(toks.map((t) => [t, { generateNext: { logits: true } }]));
	const rows = res.map((r, i) => {
		const l = r?.next?.logits;
		if (!l) die(`no logits for position ${i}`);
		return l;
	});
	const meta = model.fileInfo.metadata;
	const vocab = meta?.[meta?.general?.architecture]?.vocab_size ??
		Math.max(...rows.map((m) => Math.max(...m.keys()))) + 1;
	if (rows.some((m) => m.size !== vocab)) die(`expected ${vocab} logits per position`);
	const out = new Float32Array(toks.length * vocab);
	rows.forEach((m, i) => { for (const [t, v] of m) out[i * vocab + t] = v; });
	fs.writeFileSync(logitsOut, Buffer.from(out.buffer));
	process.stderr.write(`llamacpp.mjs: wrote ${toks.length} x ${vocab} logits to ${logitsOut}\n`);
} else {
	const prompt = ids(args[1]), dec = ids(args[2]);
	const ctx = await model.createContext({
		contextSize: Math.max(prompt.length, dec.length) + 16, batchSize: prompt.length,
		threads, sequences: 1,
	});
	const seq = ctx.getSequence();
	const stat = (what, n, ms) => process.stderr.write(
		`${what}: ${n} tokens, ${ms.toFixed(2)} ms, ${(n * 1e3 / ms).toFixed(2)} tok/s\n`);
	// evaluate() keeps one greedy sampler for the whole run (controlledEvaluate
	// builds one per call); each step decodes the fed token(s), computes the
	// logits of the last one and picks its argmax, which is dropped: the next
	// id fed is the given one. yieldEogToken: an argmax on </s> must not end it.
	const opts = { temperature: 0, yieldEogToken: true };

	// warm-up (pages in the weights, sizes the compute buffers), then reset
	let it = seq.evaluate(prompt.slice(0, 8), opts);
	await it.next();
	await it.return();
	await seq.clearHistory();

	let t0 = now();
	it = seq.evaluate(prompt, opts);
	await it.next();
	stat("prompt eval", prompt.length, now() - t0);
	await it.return();
	await seq.clearHistory();

	let best = Infinity;
	for (let r = 0; r < runs; r++) {
		await seq.clearHistory();
		it = seq.evaluate([dec[0]], opts);
		await it.next();
		t0 = now();
		for (const t of dec.slice(1))
			await it.next(t);
		best = Math.min(best, now() - t0);
		await it.return();
	}
	stat("eval", dec.length - 1, best);
	if (seq.contextTokens.join(" ") !== dec.join(" "))
		die("the sequence does not hold the decode ids that were fed");
}
await model.dispose();
await llama.dispose();
