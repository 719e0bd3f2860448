#!/usr/bin/env python3
"""A stand-in serving engine for tests/t-server.sh: python3's http.server
speaking one dialect badly or well, on 127.0.0.1 at a free port (printed on
stdout once it listens). Not llama-server: it checks ernie-run's client
(dialects, order under -P, failure modes), not a model.

    server_fake.py MODE [DIALECT]
    server_fake.py --run MODE DIALECT COMMAND...   (the server in a thread,
        COMMAND run by sh -c with $URL set; exits with its status)

MODE:
  echo    answers with ids derived from the prompt: prompt[-1]+1, +2, ...
          (max_tokens of them), each chunk after a random delay of 0-50 ms;
          asked to echo (vLLM, --all), the prompt's log-probabilities too
  500     HTTP 500 with an OpenAI-style error message
  oov     HTTP 400 with vLLM's refusal of the prompt's largest id ("Token id
          N is out of vocabulary")
  html    HTTP 200 with an HTML page instead of events
  cut     two chunks, then the connection closes (no end of stream)
  silent  accepts, then says nothing
  raw     an event stream whose body is $FAKE_BODY, as it is
  split   (llama-server) as echo, but as llama-server streams a byte token
          that leaves its text inside a UTF-8 character: no event for the
          ids at positions 1, 4, 7... of each stream; every chunk says
          tokens_predicted; "stream": false answers one object, every id
  split-bare  as split, but the whole answer has no ids (return_tokens
          ignored)
  models-html  GET /v1/models answers an HTML page
DIALECT: llama-server (default), vllm or fastdeploy. Each request's body is
appended to $FAKE_LOG when set. $FAKE_TLS=CERT:KEY (PEM files) serves https.
"""
import http.server
import json
import os
import random
import socketserver
import subprocess
import sys
import threading
import time

RUN = sys.argv[1] == "--run"
ARGS = sys.argv[2:] if RUN else sys.argv[1:]
MODE = ARGS[0]
DIALECT = ARGS[1] if len(ARGS) > 1 else "llama-server"
OWNER = {"llama-server": "llamacpp", "vllm": "vllm", "fastdeploy": "FastDeploy"}[DIALECT]


def top_of(prev, top, actual=None):
    """vLLM's top_logprobs entry for the position after id prev: the top
    `top` are prev+1, prev+2, ... at -0.5, -1.5, ...; the actual id there,
    when not among them, comes first (as vLLM lists it) at -9."""
    tops = {"token_id:%d" % (prev + 1 + k): -0.5 - k for k in range(top)}
    if actual is not None and "token_id:%d" % actual not in tops:
        tops = dict([("token_id:%d" % actual, -9.0)] + list(tops.items()))
    return tops


def echo_chunk(prompt, top):
    """vLLM's answer to echo with logprobs and max_tokens 1: one chunk with
    the prompt's log-probabilities (null for its first id), then the next
    id's; the next id is prompt[-1]+1."""
    nxt = prompt[-1] + 1
    lps = [None] + [top_of(prompt[p - 1], top, prompt[p]) for p in range(1, len(prompt))]
    lps.append(top_of(prompt[-1], top, nxt))
    choice = {"index": 0, "text": "", "token_ids": [nxt], "prompt_token_ids": prompt,
              "finish_reason": "length",
              "logprobs": {"tokens": ["token_id:%d" % i for i in prompt + [nxt]],
                           "token_logprobs": [None] + [-0.5] * len(prompt),
                           "text_offset": [0] * (len(prompt) + 1), "top_logprobs": lps}}
    return {"object": "text_completion", "model": "fake", "choices": [choice]}


def chunk(ids, last, top=0):
    """One event; top > 0: the top-`top` log-probabilities of ids[0] (-0.5,
    -1.5, ... for ids[0], ids[0]+1, ...), as each engine sends them."""
    tops = [(ids[0] + k, -0.5 - k) for k in range(top)] if ids and top else []
    if DIALECT == "llama-server":
        c = {"content": "", "tokens": ids, "stop": last}
        if tops:
            c["completion_probabilities"] = [{"id": ids[0], "logprob": -0.5, "top_logprobs":
                                              [{"id": i, "logprob": lp} for i, lp in tops]}]
        return c
    key = "token_ids" if DIALECT == "vllm" else "completion_token_ids"
    choice = {"index": 0, "text": "", key: ids, "finish_reason": "length" if last else None}
    if tops:
        choice["logprobs"] = {"tokens": ["token_id:%d" % ids[0]], "token_logprobs": [-0.5],
                              "top_logprobs": [{"token_id:%d" % i: lp for i, lp in tops}]}
    return {"object": "text_completion", "model": "fake", "choices": [choice]}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if MODE == "models-html":
            self.send(200, "<html>login</html>\n", "text/html")
        elif self.path == "/v1/models":
            meta = {"n_vocab": 1000} if DIALECT == "llama-server" else None
            m = {"id": "fake", "object": "model", "owned_by": OWNER}
            if meta:
                m["meta"] = meta
            self.send(200, json.dumps({"object": "list", "data": [m]}))
        else:
            self.send(404, json.dumps({"detail": "Not Found"}))

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if os.environ.get("FAKE_LOG"):
            with open(os.environ["FAKE_LOG"], "a") as f:
                f.write(json.dumps(req, sort_keys=True) + "\n")
        if MODE == "oov":
            return self.send(400, json.dumps({"error": {"message": "Token id %d is out of vocabulary"
                                                        % max(req["prompt"]), "type": "BadRequestError",
                                                        "param": None, "code": 400}}))
        if MODE == "500":
            return self.send(500, json.dumps({"object": "error", "message": "fake engine fell over",
                                              "type": "InternalServerError", "code": 500}))
        if MODE == "html":
            return self.send(200, "<html><body>proxy login</body></html>\n", "text/html")
        if MODE == "silent":
            time.sleep(30)
            return
        if MODE.startswith("split") and req.get("stream") is False:
            n = req["n_predict"]
            ids = [] if MODE == "split-bare" else [req["prompt"][-1] + 1 + i for i in range(n)]
            return self.send(200, json.dumps({"content": "", "tokens": ids, "stop": True,
                                              "tokens_predicted": n, "stop_type": "limit"}))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        if MODE == "raw":
            self.wfile.write(os.environ["FAKE_BODY"].encode())
            self.close_connection = True
            return
        if req.get("echo"):
            self.wfile.write(b"data: " + json.dumps(echo_chunk(req["prompt"], req["logprobs"])).encode() +
                             b"\n\ndata: [DONE]\n\n")
            self.close_connection = True
            return
        n = req.get("n_predict", req.get("max_tokens")) or 4
        base = req["prompt"][-1]
        for i in range(n):
            if MODE == "cut" and i == 2:
                self.wfile.flush()
                self.connection.shutdown(2)
                return
            time.sleep(random.random() * 0.05)
            top = req.get("n_probs", req.get("logprobs") or 0)
            c = chunk([base + 1 + i], False, top)
            if MODE.startswith("split"):
                if i % 3 == 1:
                    continue
                c["tokens_predicted"] = i + 1
            self.wfile.write(b"data: " + json.dumps(c).encode() + b"\n\n")
            self.wfile.flush()
        c = chunk([], True)
        if MODE.startswith("split"):
            c["tokens_predicted"] = n
        self.wfile.write(b"data: " + json.dumps(c).encode() + b"\n\n")
        if DIALECT != "llama-server":
            self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass                    # a client gone mid-answer is part of the tests


srv = Server(("127.0.0.1", 0), Handler)
scheme = "http"
if os.environ.get("FAKE_TLS"):
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*os.environ["FAKE_TLS"].split(":"))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    scheme = "https"
if RUN:
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    env = dict(os.environ, URL="%s://127.0.0.1:%d" % (scheme, srv.server_address[1]))
    sys.exit(subprocess.run(["sh", "-c", " ".join(ARGS[2:])], env=env).returncode)
print(srv.server_address[1], flush=True)
srv.serve_forever()
