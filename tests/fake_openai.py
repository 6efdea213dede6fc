"""A small local HTTP server that speaks the OpenAI protocol: embeddings and chat completions.

Vectors are deterministic bag-of-words hashes, so similar texts get similar vectors and tests can
check ranking through our real client code.
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
import threading
import time

from tests.http_doubles import JsonHandler, serve

DIM = 64


def embed(text: str) -> list[float]:
    vec = [0.0] * DIM
    for word in re.findall(r"\w+", text.lower()):
        vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % DIM] += 1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


def _b64(vec: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()


class FakeOpenAI:
    """Speaks POST /v1/embeddings and POST /v1/chat/completions.

    chat_reply: a fixed answer, or a function of the request's messages (e.g. one that echoes the
    whole prompt, to see exactly what we sent). delay_s simulates a slow model.

    chat_fault breaks chat completions the ways a real endpoint does (the other paths keep working):
    - "hang": accept the request and never answer (until close()).
    - "trickle": answer 200 and then send a little every trickle_gap_s, forever: a streamed request gets a
      valid chunk each time, a plain one a byte of a body that never ends. Per-read timeouts never fire.
    - "garbage": answer 200 with a body that is not JSON (streamed: `data:` lines that are not JSON).
    An empty completion is chat_reply = "". `hung_up` is set when a client cut a trickle off."""

    def __init__(self):
        self.requests: list[dict] = []
        self.fail_with: int | None = None
        self.chat_reply = "Respuesta de prueba [1]"
        self.delay_s = 0.0
        self.stream_gap_s = 0.0          # pause between streamed words
        self.transcript = "hola, cuánto vale el botox?"
        self.chat_fault: str | None = None
        self.trickle_gap_s = 1.0
        self.hung_up = threading.Event()
        self._released = threading.Event()      # frees handlers that hang or trickle, on close()
        server = self

        class Handler(JsonHandler):
            def do_POST(self):
                if self.path == "/v1/audio/transcriptions":
                    size = int(self.headers["Content-Length"])
                    form = self.rfile.read(size)
                    server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                            "body": {"bytes": size, "has_audio": b"OggS" in form}})
                    return self._send(200, {"text": server.transcript})
                body = self.read_json()
                server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                if server.fail_with:
                    self._send(server.fail_with, {"error": {"message": "boom", "type": "server_error"}})
                    return
                if self.path == "/v1/chat/completions" and server.chat_fault:
                    return self._fault(server.chat_fault, bool(body.get("stream")))
                if self.path == "/v1/chat/completions":
                    if server.delay_s:
                        time.sleep(server.delay_s)
                    reply = server.chat_reply(body["messages"]) if callable(server.chat_reply) else server.chat_reply
                    if body.get("stream"):
                        return self._stream(body["model"], reply, body.get("stream_options") or {})
                    self._send(200, {"id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
                                     "model": body["model"], "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": reply}}],
                                     "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
                    return
                if self.path != "/v1/embeddings":
                    self._send(404, {"error": {"message": "not found"}})
                    return
                inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                as_base64 = body.get("encoding_format") == "base64"     # what the openai SDK asks for
                data = [{"object": "embedding", "index": i,
                         "embedding": _b64(embed(t)) if as_base64 else embed(t)} for i, t in enumerate(inputs)]
                data.reverse()          # the protocol carries `index`; clients must not rely on order
                self._send(200, {"object": "list", "data": data, "model": body["model"],
                                 "usage": {"prompt_tokens": 1, "total_tokens": 1}})

            def _fault(self, fault: str, stream: bool):
                if fault == "hang":
                    server._released.wait()
                    return
                if fault == "garbage":
                    raw = b"data: <html>502 Bad Gateway</html>\n\n" if stream else b"<html>502 Bad Gateway</html>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream" if stream else "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                    return
                assert fault == "trickle", fault
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream" if stream else "application/json")
                if not stream:
                    self.send_header("Content-Length", "100000000")
                self.end_headers()
                chunk = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()),
                         "model": "m", "choices": [{"index": 0, "delta": {"content": "Un momento. "}, "finish_reason": None}]}
                piece = f"data: {json.dumps(chunk)}\n\n".encode() if stream else b" "
                try:
                    while not server._released.wait(server.trickle_gap_s):
                        self.wfile.write(piece)
                        self.wfile.flush()
                except OSError:             # the client hung up: what a hard deadline should do
                    server.hung_up.set()
                self.close_connection = True

            def _stream(self, model: str, reply: str, options: dict):
                """The streaming protocol: `data: {chat.completion.chunk}` lines, a word at a time, then
                (when asked for) a usage chunk, then `data: [DONE]`."""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()),
                        "model": model}
                words = re.findall(r"\S+\s*", reply)
                for i, word in enumerate(words):
                    delta = {"role": "assistant", "content": word} if i == 0 else {"content": word}
                    chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(server.stream_gap_s)
                done = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                self.wfile.write(f"data: {json.dumps(done)}\n\n".encode())
                if options.get("include_usage"):
                    usage = {**base, "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": len(words),
                                                                "total_tokens": 3 + len(words)}}
                    self.wfile.write(f"data: {json.dumps(usage)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        self.httpd, base = serve(Handler)
        self.url = f"{base}/v1"

    def chat_requests(self) -> int:
        return sum(1 for r in self.requests if r["path"] == "/v1/chat/completions")

    def close(self):
        self._released.set()
        self.httpd.shutdown()
