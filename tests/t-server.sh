#!/bin/sh
# ernie-run --server: against tests/server_fake.py (python3's http.server
# speaking each dialect, and failing in each way), then against a real
# llama-server (llama.cpp as tests/oracles builds it, found in
# ~/.cache/ernie-oracles; skipped when it is not there) serving an f32 GGUF
# of the golden tiny-dense model made by bench/gguf.py.
. tests/lib.sh
RUN=$BIN/ernie-run

# fake MODE [DIALECT]: start a fake server; sets FAKE_PID and URL
fake() {
	rm -f "$TMP/port"
	$PY tests/server_fake.py "$@" >"$TMP/port.tmp" 2>"$TMP/fake.err" &
	FAKE_PID=$!
	i=0
	while ! grep -q . "$TMP/port.tmp" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	mv "$TMP/port.tmp" "$TMP/port"
	URL=http://127.0.0.1:$(cat "$TMP/port")
}
stop() { kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null; }
# frames: a binary stream as "MAGIC id:value ..." lines
frames() {
	$PY -c '
import struct, sys
b = sys.stdin.buffer.read()
o = 0
while o < len(b):
    m, n = b[o:o + 4].decode(), struct.unpack("<I", b[o + 4:o + 8])[0]
    o += 8
    w = 8 if m == "ETOP" else 4
    v = [struct.unpack("<if" if m == "ETOP" else "<i", b[o + w * i:o + w * i + w]) for i in range(n)]
    print(m, " ".join(":".join("%g" % x for x in t) for t in v))
    o += w * n'
}

# ---- dialects, order, options (the fake answers prompt[-1]+1, +2, ...) ----
for d in llama-server vllm fastdeploy; do
	: >"$TMP/log"
	FAKE_LOG=$TMP/log fake echo $d
	got=$(printf '1 2\n3\n\n7\n\n\n' | "$RUN" --server "$URL/" -n 3 | tr '\n' '|')
	check_eq "server-answers-$d" "4 5 6 ||8 9 10 |||" "$got"
	# the dialect came from /v1/models' owned_by; its request fields
	case $d in
	llama-server) want='"n_predict": 3, "prompt": [1, 2, 3], "stream": true}' ;;
	vllm) want='"max_tokens": 3, "model": "fake", "prompt": [1, 2, 3], "return_token_ids": true, "stream": true}' ;;
	fastdeploy) want='"max_tokens": 3, "model": "fake", "prompt": [1, 2, 3], "return_token_ids": true, "stream": true}' ;;
	esac
	check_eq "server-request-$d" "{$want" "$(head -n 1 "$TMP/log")"
	# scoring: each record's next-token top-K log-probabilities, the sequence
	# so far as the prompt; an empty record passes on as an empty frame
	if [ $d != fastdeploy ]; then
		got=$(printf '1 2\n3\n\n9\n' | "$RUN" --server "$URL" --top 2 | frames | tr '\n' '|')
		check_eq "server-top-$d" "ETOP 3:-0.5 4:-1.5|ETOP 4:-0.5 5:-1.5|ELOG |ETOP 10:-0.5 11:-1.5|" "$got"
	fi
	stop
done

# ---- --all --top K: vLLM's echo (the prompt's log-probabilities, the first
# null, then the next id's), one frame per position as local --all writes;
# the fake's tops after id t are t+1, t+2, and the actual id comes first at
# -9 when not among them (here 5 after 1): dropped, the rest sorted
: >"$TMP/log"
FAKE_LOG=$TMP/log fake echo vllm
got=$(printf '1 5\n3\n\n9\n' | "$RUN" --server "$URL" --top 2 --all | frames | tr '\n' '|')
check_eq server-all-vllm "ETOP 2:-0.5 3:-1.5|ETOP 6:-0.5 7:-1.5|ETOP 4:-0.5 5:-1.5|ELOG |ETOP 10:-0.5 11:-1.5|" "$got"
check_eq server-all-request '{"echo": true, "logprobs": 2, "max_tokens": 1, "model": "fake", "prompt": [1, 5], "return_token_ids": true, "return_tokens_as_token_ids": true, "stream": true, "temperature": 0}' "$(head -n 1 "$TMP/log")"
seq 1 12 | awk '{ print $1 * 10, $1 * 10 + 3; print $1; print "" }' >"$TMP/scores"
"$RUN" --server "$URL" --top 3 --all <"$TMP/scores" >"$TMP/s1"
"$RUN" --server "$URL" --top 3 --all -P 3 <"$TMP/scores" >"$TMP/s3"
if [ -s "$TMP/s1" ] && cmp -s "$TMP/s1" "$TMP/s3"; then ok server-all-parallel
else fail server-all-parallel "-P 3 differs from -P 1 (or no output)"; fi
# older vLLM (ids through logprobs.tokens) echoes the same way
got=$(printf '1 5\n' | "$RUN" --server "$URL" --server-api vllm-logprobs --top 2 --all | frames | tr '\n' '|')
check_eq server-all-vllm-logprobs "ETOP 2:-0.5 3:-1.5|ETOP 6:-0.5 7:-1.5|" "$got"
check_fails server-all-llama-server 2 "^ernie-run: --all: the llama-server server does not take it" \
	sh -c "echo 1 | $RUN --server $URL --server-api llama-server --top 2 --all"
check_fails server-all-needs-top 2 "not whole logits" sh -c "echo 1 | $RUN --server $URL --all"
check_fails server-all-with-n 2 "^ernie-run: -n generates ids: --all is for logits" \
	sh -c "echo 1 | $RUN --server $URL --all -n 2"
stop
# a vLLM answer written from its documented fields (tests/data/remote), in two chunks
FAKE_BODY=$(cat "$DATA/remote/vllm-all.sse") $PY tests/server_fake.py --run raw vllm \
	"printf '100\n200 300\n' | $RUN --server \$URL --top 2 --all" >"$TMP/rec" 2>"$TMP/err"
check_eq server-all-recorded "ETOP 7:-0.5 8:-1.5|ETOP 300:-0.25 9:-1.75|ETOP 4:-1 17:-1|" \
	"$(frames <"$TMP/rec" | tr '\n' '|')$(cat "$TMP/err")"

# ---- FastDeploy's documented fields: min_p, stop_token_ids, a ban as
# bad_words_token_ids; what it lacks is a usage error naming it
: >"$TMP/log"
FAKE_LOG=$TMP/log fake echo fastdeploy
echo 3 | "$RUN" --server "$URL" -n 1 --min-p 0.25 --stop-id 5 --logit-bias 7=-inf >/dev/null
check_eq server-request-fastdeploy-sampling '{"bad_words_token_ids": [7], "max_tokens": 1, "min_p": 0.25, "model": "fake", "prompt": [3], "return_token_ids": true, "stop_token_ids": [5], "stream": true}' "$(cat "$TMP/log")"
check_fails server-fastdeploy-bias 2 "^ernie-run: --logit-bias other than ID=-inf \(a ban\): the fastdeploy server does not take it" \
	sh -c "echo 1 | $RUN --server $URL -n 2 --logit-bias 7=-inf --logit-bias 8=2"
check_fails server-fastdeploy-ignore-eos 2 "^ernie-run: --ignore-eos: the fastdeploy server does not take it" \
	sh -c "echo 1 | $RUN --server $URL -n 2 --ignore-eos"
check_fails server-fastdeploy-repeat-last-n 2 "^ernie-run: --repeat-last-n: the fastdeploy server does not take it" \
	sh -c "echo 1 | $RUN --server $URL -n 2 --repeat-last-n 8"
stop

# ---- vLLM's refusal of an id past its vocabulary (its /v1/models does not
# say the vocabulary): bad data, exit 1, naming the server and the id
fake oov vllm
check_fails server-vocab-vllm 1 "^ernie-run: server $URL: token id 9 is past the vocabulary of the model it serves \(HTTP 400: Token id 9 is out of vocabulary\)" \
	sh -c "echo '1 9' | $RUN --server $URL -n 2"
stop

: >"$TMP/log"
FAKE_LOG=$TMP/log fake echo
# the sampling options given become the request's fields, and only those
echo 3 | "$RUN" --server "$URL" -n 1 --temp 0.5 --top-k 7 -s 3 --repeat-last-n 8 \
	--logit-bias 5=-inf --stop END --ignore-eos >/dev/null
check_eq server-request-sampling '{"ignore_eos": true, "logit_bias": [[5, false]], "n_predict": 1, "prompt": [3], "repeat_last_n": 8, "seed": 3, "stop": ["END"], "stream": true, "temperature": 0.5, "top_k": 7}' "$(cat "$TMP/log")"
# -n -1: as long as the server goes on (llama-server's n_predict -1)
: >"$TMP/log"
echo 3 | "$RUN" --server "$URL" -n -1 >/dev/null
check_eq server-request-unlimited '{"n_predict": -1, "prompt": [3], "stream": true}' "$(cat "$TMP/log")"
# scoring asks for one greedy token, so the server's answer does not vary
: >"$TMP/log"
echo 3 | "$RUN" --server "$URL" --top 2 >/dev/null
check_eq server-request-top '{"n_predict": 1, "n_probs": 2, "prompt": [3], "stream": true, "temperature": 0}' "$(cat "$TMP/log")"
# 20 prompts, answers arriving in random order: -P 4 writes them in input order
seq 1 20 | awk '{ print $1 * 10; print "" }' >"$TMP/prompts"
"$RUN" --server "$URL" -n 4 <"$TMP/prompts" >"$TMP/p1"
"$RUN" --server "$URL" -n 4 -P 4 <"$TMP/prompts" >"$TMP/p4"
check_eq "server-parallel-order" "$(cat "$TMP/p1")" "$(cat "$TMP/p4")"
check_eq "server-parallel-count" "40" "$(wc -l <"$TMP/p4" | tr -d ' ')"
check_eq "server-binary" "ETOK" "$(echo 5 | "$RUN" --server "$URL" -n 1 -b | head -c 4)"
# the vocabulary (the fake's /v1/models says 1000 ids) is checked first
check_fails server-vocab 1 "record 1 .*token id 1000 is past the vocabulary .*1000 ids" \
	sh -c "echo '1 1000' | $RUN --server $URL -n 2"
check_fails server-unsupported 2 "^ernie-run: --stop-id: the llama-server server does not take it" \
	sh -c "echo 1 | $RUN --server $URL -n 2 --stop-id 5"
check_fails server-bad-option 2 "--top-p: '2' is not in \[0, 1\]" \
	sh -c "echo 1 | $RUN --server $URL -n 2 --top-p 2"
check_fails server-top-fastdeploy 2 "^ernie-run: --top: the fastdeploy server does not take it" \
	sh -c "echo 1 | $RUN --server $URL --server-api fastdeploy --top 2"
check_fails server-needs-n 2 "not whole logits" sh -c "echo 1 | $RUN --server $URL"
check_fails server-no-model-options 2 "do not apply" sh -c "echo 1 | $RUN --server $URL -n 1 -t 2"
check_fails server-api-unknown 2 "unknown server API 'tgi'" \
	sh -c "echo 1 | $RUN --server $URL -n 1 --server-api tgi"
got=$(echo 5 | ERNIE_SERVER=$URL "$RUN" -n 2 | tr '\n' '|')
check_eq "server-env" "6 7 ||" "$got"
# a forced dialect the server does not speak: its chunks are not that JSON
check_fails server-wrong-dialect 3 "^ernie-run: server $URL: no choices list, in the chunk" \
	sh -c "echo 5 | $RUN --server $URL -n 2 --server-api vllm"
stop

# ---- llama-server's lost ids: its stream has no event for a byte token that
# leaves the text inside a UTF-8 character; its count of ids generated
# shows the gap, and the rest is asked for as one whole answer
: >"$TMP/log"
FAKE_LOG=$TMP/log fake split
got=$(printf '5\n\n20\n\n' | "$RUN" --server "$URL" -n 6 | tr '\n' '|')
check_eq server-lost-ids "6 7 8 9 10 11 ||21 22 23 24 25 26 ||" "$got"
check_eq server-lost-ids-resume '{"n_predict": 5, "prompt": [5, 6], "return_tokens": true, "stream": false}' \
	"$(grep -F '"prompt": [5, 6]' "$TMP/log")"
# a long answer: 16 ids as one object, then streamed again (the fake loses
# the second id of each stream)
: >"$TMP/log"
got=$(echo 5 | "$RUN" --server "$URL" -n 40)
check_eq server-lost-ids-long "$(seq -s ' ' 6 45) " "$got"
got=$($PY -c 'import json, sys
print("|".join("%s %d" % (json.loads(l)["stream"], json.loads(l)["n_predict"]) for l in sys.stdin))' <"$TMP/log")
check_eq server-lost-ids-restream "True 40|False 16|True 23|False 16|True 6|False 5" "$got"
# the last id lost (the stream's final chunk shows it), in parallel
seq 1 12 | awk '{ print $1 * 10; print "" }' >"$TMP/prompts"
got=$("$RUN" --server "$URL" -n 2 -P 4 <"$TMP/prompts" | tr '\n' '|')
check_eq server-lost-last "$(seq 1 12 | awk '{ printf "%d %d ||", $1 * 10 + 1, $1 * 10 + 2 }')" "$got"
stop
fake split-bare
echo 5 | "$RUN" --server "$URL" -n 6 >"$TMP/out" 2>"$TMP/err"
check_eq server-lost-ids-bare "3 6 |ernie-run: server $URL: its answer has 0 ids of the 5 it generated" \
	"$? $(cat "$TMP/out")|$(cat "$TMP/err")"
stop

# ---- failures: one line naming the server, exit 3, the answer left open --
fake 500
check_fails server-http-500 3 "^ernie-run: server $URL: HTTP 500: fake engine fell over$" \
	sh -c "echo 1 | $RUN --server $URL -n 2"
stop
fake html
check_fails server-not-events 3 "^ernie-run: server $URL: the answer is text/html, not an event stream: <html>" \
	sh -c "echo 1 | $RUN --server $URL -n 2"
stop
fake cut
echo 1 | "$RUN" --server "$URL" -n 5 >"$TMP/out" 2>"$TMP/err"
st=$?
check_eq "server-cut-status" "3" "$st"
check_eq "server-cut-message" "ernie-run: server $URL: the stream ended before its final chunk (\"stop\": true)" \
	"$(cat "$TMP/err")"
# the two ids that came, and no end of record, no empty record
check_eq "server-cut-unclosed" "2 3 " "$(cat "$TMP/out")"
stop
fake silent
check_fails server-timeout 3 "^ernie-run: server $URL: no answer within 1 s \(--timeout\)$" \
	sh -c "echo 1 | $RUN --server $URL -n 2 --timeout 1"
stop
# a port nobody listens on (the fake's, once it is gone), a name that does not resolve
check_fails server-refused 3 "^ernie-run: server $URL: .*(onnect|refused)" \
	sh -c "echo 1 | $RUN --server $URL -n 2"
check_fails server-dns 3 "^ernie-run: server http://ernie-test.invalid: .*resolve" \
	sh -c "echo 1 | $RUN --server http://ernie-test.invalid -n 2"

# ---- https: a CA and a certificate for 127.0.0.1 made here, the fake
# serving TLS; trusted with --cacert or as curl reads the environment, and
# an untrusted certificate is one line, exit 3
tls="server-tls-cacert server-tls-curl-ca-bundle server-tls-ssl-cert-file server-tls-untrusted server-tls-cacert-missing"
if ! command -v openssl >/dev/null 2>&1 || ! $PY -c 'import ssl' 2>/dev/null; then
	for t in $tls; do skip "$t" "no openssl, or no ssl module in $PY"; done
elif ! (cd "$TMP" && printf 'subjectAltName=IP:127.0.0.1\n' >ext &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj '/CN=ernie test CA' -keyout ca.key -out ca.pem &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj '/CN=127.0.0.1' -keyout srv.key -out srv.csr &&
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile ext -out srv.pem) >"$TMP/openssl.log" 2>&1; then
	for t in $tls; do fail "$t" "openssl: $(tail -n 1 "$TMP/openssl.log")"; done
else
	# tlsrun COMMAND: run by sh -c with $URL the fake's https URL, without
	# the CA variables of this environment (each test sets its own)
	tlsrun() {
		env -u CURL_CA_BUNDLE -u SSL_CERT_FILE -u SSL_CERT_DIR FAKE_TLS="$TMP/srv.pem:$TMP/srv.key" \
			$PY tests/server_fake.py --run echo llama-server "$@"
	}
	# --cacert wins over the environment's CA
	got=$(tlsrun "echo 5 | CURL_CA_BUNDLE=/nonexistent $RUN --server \$URL -n 2 --cacert $TMP/ca.pem" 2>&1 | tr '\n' '|')
	check_eq server-tls-cacert "6 7 ||" "$got"
	got=$(tlsrun "echo 5 | CURL_CA_BUNDLE=$TMP/ca.pem SSL_CERT_FILE=/nonexistent $RUN --server \$URL -n 1" 2>&1 | tr '\n' '|')
	check_eq server-tls-curl-ca-bundle "6 ||" "$got"
	got=$(tlsrun "echo 5 | SSL_CERT_FILE=$TMP/ca.pem $RUN --server \$URL -n 1" 2>&1 | tr '\n' '|')
	check_eq server-tls-ssl-cert-file "6 ||" "$got"
	check_fails server-tls-untrusted 3 "^ernie-run: server https://127.0.0.1:[0-9]+: SSL certificate problem: [^|]* \(a private CA: --cacert FILE\)$" \
		tlsrun "echo 5 | $RUN --server \$URL -n 1"
	check_fails server-tls-cacert-missing 3 "^ernie-run: server https://127.0.0.1:[0-9]+: .*$TMP/nope.pem" \
		tlsrun "echo 5 | $RUN --server \$URL -n 1 --cacert $TMP/nope.pem"
fi

# ---- a real llama-server ---------------------------------------------------
LS=
for f in "${XDG_CACHE_HOME:-$HOME/.cache}"/ernie-oracles/llama.cpp-*/build/bin/llama-server; do
	[ -x "$f" ] && LS=$f
done
live="server-live-greedy server-live-own-greedy server-live-seeded server-live-lost-ids server-live-parallel server-live-top server-live-stream"
if [ -z "$LS" ]; then
	for t in $live; do skip "$t" "no llama-server in ~/.cache/ernie-oracles (tests/oracles builds it)"; done
	exit 0
fi
dir=$DATA/golden/tiny-dense
if ! $PY bench/gguf.py --f32 "$dir" "$TMP/tiny.gguf" >"$TMP/gguf.log" 2>&1; then
	for t in $live; do fail "$t" "bench/gguf.py: $(tail -n 1 "$TMP/gguf.log")"; done
	exit 0
fi
port=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$LS" -m "$TMP/tiny.gguf" --host 127.0.0.1 --port "$port" -c 2048 -np 4 -t 1 --no-webui \
	>"$TMP/ls.log" 2>&1 &
LS_PID=$!
URL=http://127.0.0.1:$port
i=0
until curl -sf "$URL/health" >/dev/null 2>&1 || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done
ids() { $PY -c "import json,sys; print(' '.join(map(str, json.load(open(sys.argv[1]))[sys.argv[2]])))" "$@"; }
prompt=$(ids "$dir/greedy.json" prompt)
want=$(ids "$dir/greedy.json" greedy)
n=$(echo $want | wc -w)
# local greedy (t-generate.sh checks it is greedy.json's), through the server
got=$(echo "$prompt" | "$RUN" --server "$URL" -n "$n" --temp 0 | head -n 1)
check_eq server-live-greedy "$want" "$(echo $got)"
# llama-server's own answer to the same request, asked without ernie-run
own=$($PY -c '
import json, sys, urllib.request
req = {"prompt": [int(x) for x in sys.argv[2].split()], "n_predict": int(sys.argv[3]), "temperature": 0,
       "return_tokens": True}
r = urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/completion", json.dumps(req).encode(),
                                                  {"Content-Type": "application/json"}))
print(" ".join(map(str, json.load(r)["tokens"])))' "$URL" "$prompt" "$n" 2>&1)
check_eq server-live-own-greedy "$want" "$own"
a=$(echo "$prompt" | "$RUN" --server "$URL" -n 12 -s 7 --temp 1)
b=$(echo "$prompt" | "$RUN" --server "$URL" -n 12 -s 7 --temp 1)
[ -n "$a" ] || a="(no answer)"
check_eq server-live-seeded "$a" "$b"
# sampled answers of random weights hold byte tokens, whose ids llama-server's
# stream leaves out: each of 8 has all its 40 ids (or ends at the end id, 2)
short=
for s in 1 2 3 4 5 6 7 8; do
	a=$(printf '1 500 600\n\n' | "$RUN" --server "$URL" -n 40 --temp 1 -s $s | head -n 1)
	[ "$(echo $a | wc -w)" -eq 40 ] || [ "${a% }" != "${a% 2 }" ] || short="$short seed $s: $(echo $a | wc -w) ids;"
done
if [ -z "$short" ]; then ok server-live-lost-ids; else fail server-live-lost-ids "$short"; fi
# 20 prompts (prefixes of the golden one), -P 4 as -P 1
for k in $(seq 1 20); do echo "$prompt" | cut -d' ' -f1-$(( (k - 1) % 8 + 2 )); echo; done >"$TMP/lp"
"$RUN" --server "$URL" -n 6 --temp 0 <"$TMP/lp" >"$TMP/l1"
"$RUN" --server "$URL" -n 6 --temp 0 -P 4 <"$TMP/lp" >"$TMP/l4"
if [ "$(wc -l <"$TMP/l1")" -eq 40 ] && cmp -s "$TMP/l1" "$TMP/l4"; then ok server-live-parallel
else fail server-live-parallel "-P 4 differs from -P 1: $(diff "$TMP/l1" "$TMP/l4" | head -c 200)"; fi
# scoring: the server's top-3 next ids after each record are the local top-3 logits'
# ids (log-probabilities and logits rank alike); the values differ by design
ids_of() { frames | sed 's/:[^ ]*//g'; }
loc=$(printf '%s\n' "$prompt" | "$RUN" -m "$dir" --precision f32 --top 3 | ids_of)
got=$(printf '%s\n' "$prompt" | "$RUN" --server "$URL" --top 3 2>"$TMP/top.err" | ids_of)
[ -n "$loc" ] || loc="(no local frame)"
check_eq server-live-top "$loc" "$got$(cat "$TMP/top.err")"
# streaming is real: the first id is read while the answer goes on, so a
# server killed at that moment leaves ernie-run with a cut stream (exit 3)
$PY - "$RUN" "$URL" "$prompt" "$LS_PID" >"$TMP/stream" 2>&1 <<'EOF'
import os, signal, subprocess, sys
run, url, prompt, pid = sys.argv[1:]
p = subprocess.Popen([run, "--server", url, "-n", "100000", "--ignore-eos", "--temp", "1"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
p.stdin.write((prompt + "\n").encode())
p.stdin.close()
first = p.stdout.read(2)
os.kill(int(pid), signal.SIGKILL)
rest = p.stdout.read()
err = p.stderr.read().decode()
p.wait()
print(p.returncode, len(first), b"\n" in rest, err.strip())
EOF
wait "$LS_PID" 2>/dev/null
case $(cat "$TMP/stream") in
"3 2 False ernie-run: server $URL: "*) ok server-live-stream ;;
*) fail server-live-stream "$(cat "$TMP/stream")" ;;
esac
