"""A stand-in for a Qdrant server: Qdrant's REST protocol over HTTP, answered by qdrant-client's own local engine.

This is a TEST DOUBLE at a boundary we cannot run here (no Qdrant binary and no Docker on the test machine), like
tests/chatwoot_fake.py for Chatwoot. It lets several app processes share one vector store through
`QDRANT_URL`, exactly as they would share a real Qdrant server, so the multi-process tests exercise the app's
real remote client path (`QdrantClient(url=...)`, REST, not gRPC) instead of the embedded one.

What it is:
- one process (run it with `python -m tests.qdrant_standin --port 0`; it prints `listening <url>` once ready),
  holding one `QdrantClient(":memory:")` (or `path=...`), the same engine the app embeds, behind one lock
  (the local engine is plain Python and not thread-safe; a real server serialises writes per shard too);
- request bodies parsed with qdrant_client.http.models (pydantic, the client's own REST schema), answers in
  the server's envelope `{"result": ..., "status": "ok", "time": seconds}`, errors as
  `{"status": {"error": "..."}, "time": ...}` with 404 (missing collection or point), 400 (bad input) or 500.

What it is not: Qdrant. No HNSW (search is exact), no shards, replicas, snapshots, aliases or
optimizers; query parameters such as `wait`, `ordering`, `consistency` and `timeout` are accepted and
ignored (every write is applied before the answer, which is what `wait=true` promises). It covers the
endpoints this codebase calls (grep app/ for client calls) plus their near neighbours:

  GET    /  /healthz /livez /readyz                 version and health
  GET    /collections                               get_collections
  GET    /collections/{c}/exists                    collection_exists
  GET    /collections/{c}                           get_collection
  PUT    /collections/{c}                           create_collection (dense + sparse vectors, metadata)
  PATCH  /collections/{c}                           update_collection (accepted; nothing to tune locally)
  DELETE /collections/{c}                           delete_collection
  PUT    /collections/{c}/points                    upsert (a list of points or a batch)
  POST   /collections/{c}/points                    retrieve
  GET    /collections/{c}/points/{id}               retrieve one
  POST   /collections/{c}/points/delete             delete by ids or by filter
  POST   /collections/{c}/points/query              query_points: dense, sparse, prefetch + fusion/RRF, text
  POST   /collections/{c}/points/query/batch        query_batch_points
  POST   /collections/{c}/points/scroll             scroll (filter, offset, limit, payload, vectors)
  POST   /collections/{c}/points/count              count
  POST   /collections/{c}/points/payload            set_payload
  PUT    /collections/{c}/points/payload            overwrite_payload
  POST   /collections/{c}/points/payload/delete     delete_payload
  POST   /collections/{c}/points/payload/clear      clear_payload
  PUT    /collections/{c}/index                     create_payload_index
  DELETE /collections/{c}/index/{field}             delete_payload_index
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import unquote, urlsplit

import pydantic
from pydantic import TypeAdapter
from pydantic_core import to_jsonable_python
from qdrant_client import QdrantClient
from qdrant_client.http import models as m

ROOT = Path(__file__).resolve().parent.parent
_INSERT = TypeAdapter(m.PointInsertOperations)      # PointsList | PointsBatch
_SELECTOR = TypeAdapter(m.PointsSelector)            # PointIdsList | FilterSelector
_POINT_ID = TypeAdapter(m.ExtendedPointId)


class NotFound(Exception):
    pass


def _not_found(exc: Exception) -> bool:
    # The local engine says "Collection x not found" (ValueError) or KeyError for a missing point.
    return "not found" in str(exc).lower() or "doesn't exist" in str(exc).lower()


def _ids(points: list | None):
    return [_POINT_ID.validate_python(p) for p in points] if points is not None else None


class Engine:
    """The local Qdrant engine and the REST operations on it, one at a time."""

    def __init__(self, path: str | None = None):
        self.client = (QdrantClient(path=path, force_disable_check_same_thread=True) if path
                       else QdrantClient(":memory:"))
        self.lock = threading.Lock()
        # (method, path pattern, handler(collection/field names..., body, query) -> result)
        self.routes: list[tuple[str, re.Pattern, Callable[..., Any]]] = []
        c = r"/collections/(?P<c>[^/]+)"
        for method, pattern, fn in [
            ("GET", r"/collections", self.get_collections),
            ("GET", c + r"/exists", self.exists),
            ("GET", c, self.get_collection),
            ("PUT", c, self.create_collection),
            ("PATCH", c, self.update_collection),
            ("DELETE", c, self.delete_collection),
            ("PUT", c + r"/points", self.upsert),
            ("POST", c + r"/points", self.retrieve),
            ("POST", c + r"/points/delete", self.delete_points),
            ("POST", c + r"/points/query", self.query),
            ("POST", c + r"/points/query/batch", self.query_batch),
            ("POST", c + r"/points/scroll", self.scroll),
            ("POST", c + r"/points/count", self.count),
            ("POST", c + r"/points/payload", self.set_payload),
            ("PUT", c + r"/points/payload", self.overwrite_payload),
            ("POST", c + r"/points/payload/delete", self.delete_payload),
            ("POST", c + r"/points/payload/clear", self.clear_payload),
            ("PUT", c + r"/index", self.create_index),
            ("DELETE", c + r"/index/(?P<field>[^/]+)", self.delete_index),
            ("GET", c + r"/points/(?P<point>[^/]+)", self.retrieve_one),   # after the fixed /points/… paths
        ]:
            self.routes.append((method, re.compile(f"^{pattern}$"), fn))

    def dispatch(self, method: str, path: str, body: Any) -> Any:
        for verb, pattern, fn in self.routes:
            match = pattern.match(path)
            if match and verb == method:
                args = {k: unquote(v) for k, v in match.groupdict().items()}
                with self.lock:
                    return fn(body=body, **args)
        raise NotFound(f"Not found: no endpoint {method} {path}")

    # -- collections -------------------------------------------------------------------------------
    def get_collections(self, body) -> Any:
        return self.client.get_collections()

    def exists(self, c, body) -> Any:
        return m.CollectionExistence(exists=self.client.collection_exists(c))

    def get_collection(self, c, body) -> Any:
        return self.client.get_collection(c)

    def create_collection(self, c, body) -> Any:
        req = m.CreateCollection.model_validate(body or {})
        if self.client.collection_exists(c):
            raise ValueError(f"Wrong input: Collection `{c}` already exists!")
        return self.client.create_collection(c, vectors_config=req.vectors, sparse_vectors_config=req.sparse_vectors,
                                             metadata=req.metadata)

    def update_collection(self, c, body) -> Any:
        m.UpdateCollection.model_validate(body or {})
        self.client.get_collection(c)        # 404 for a missing collection; nothing else to change locally
        return True

    def delete_collection(self, c, body) -> Any:
        return self.client.delete_collection(c)

    # -- points --------------------------------------------------------------------------------------
    def upsert(self, c, body) -> Any:
        req = _INSERT.validate_python(body)
        if isinstance(req, m.PointsBatch):
            points = req.batch
        else:
            points = req.points
        return self.client.upsert(c, points=points, update_filter=req.update_filter)

    def retrieve(self, c, body) -> Any:
        req = m.PointRequest.model_validate(body)
        return self.client.retrieve(c, ids=req.ids, with_payload=req.with_payload if req.with_payload is not None
                                    else True, with_vectors=req.with_vector or False)

    def retrieve_one(self, c, point, body) -> Any:
        found = self.client.retrieve(c, ids=[_POINT_ID.validate_python(int(point) if point.isdigit() else point)],
                                     with_payload=True, with_vectors=True)
        if not found:
            raise NotFound(f"Not found: No point with id {point} found")
        return found[0]

    def delete_points(self, c, body) -> Any:
        return self.client.delete(c, points_selector=_SELECTOR.validate_python(body))

    @staticmethod
    def _query_args(req: m.QueryRequest) -> dict:
        return dict(query=req.query, using=req.using, prefetch=req.prefetch, query_filter=req.filter,
                    search_params=req.params, limit=req.limit if req.limit is not None else 10, offset=req.offset,
                    with_payload=req.with_payload if req.with_payload is not None else False,
                    with_vectors=req.with_vector if req.with_vector is not None else False,
                    score_threshold=req.score_threshold, lookup_from=req.lookup_from)

    def query(self, c, body) -> Any:
        return self.client.query_points(c, **self._query_args(m.QueryRequest.model_validate(body)))

    def query_batch(self, c, body) -> Any:
        req = m.QueryRequestBatch.model_validate(body)
        return [self.client.query_points(c, **self._query_args(r)) for r in req.searches]

    def scroll(self, c, body) -> Any:
        req = m.ScrollRequest.model_validate(body or {})
        points, offset = self.client.scroll(
            c, scroll_filter=req.filter, limit=req.limit if req.limit is not None else 10, order_by=req.order_by,
            offset=req.offset, with_payload=req.with_payload if req.with_payload is not None else True,
            with_vectors=req.with_vector if req.with_vector is not None else False)
        return m.ScrollResult(points=points, next_page_offset=offset)

    def count(self, c, body) -> Any:
        req = m.CountRequest.model_validate(body or {})
        return self.client.count(c, count_filter=req.filter, exact=req.exact if req.exact is not None else True)

    # -- payload and indexes ---------------------------------------------------------------------------
    @staticmethod
    def _which(req) -> Any:
        """SetPayload/DeletePayload name their points by ids or by a filter."""
        if req.points is not None:
            return _ids(req.points)
        if req.filter is not None:
            return req.filter
        raise ValueError("Wrong input: either `points` or `filter` is required")

    def set_payload(self, c, body) -> Any:
        req = m.SetPayload.model_validate(body)
        return self.client.set_payload(c, payload=req.payload, points=self._which(req), key=req.key)

    def overwrite_payload(self, c, body) -> Any:
        req = m.SetPayload.model_validate(body)
        return self.client.overwrite_payload(c, payload=req.payload, points=self._which(req))

    def delete_payload(self, c, body) -> Any:
        req = m.DeletePayload.model_validate(body)
        return self.client.delete_payload(c, keys=req.keys, points=self._which(req))

    def clear_payload(self, c, body) -> Any:
        return self.client.clear_payload(c, points_selector=_SELECTOR.validate_python(body))

    def create_index(self, c, body) -> Any:
        req = m.CreateFieldIndex.model_validate(body)
        with _quiet():
            return self.client.create_payload_index(c, field_name=req.field_name, field_schema=req.field_schema)

    def delete_index(self, c, field, body) -> Any:
        with _quiet():
            return self.client.delete_payload_index(c, field_name=field)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # "payload indexes have no effect in local mode": known, and fine here
        yield


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass          # a client that hung up mid-answer (a timed-out request) is not our failure


def make_server(host: str = "127.0.0.1", port: int = 0, path: str | None = None) -> _Server:
    engine = Engine(path)
    server_version = version("qdrant-client")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"           # keep-alive, as a real server (the client pools connections)

        def log_message(self, *a):
            pass

        def _reply(self, status: int, payload: Any) -> None:
            raw = json.dumps(payload, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _handle(self) -> None:
            started = time.perf_counter()
            path = urlsplit(self.path).path.rstrip("/") or "/"
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                if self.command == "GET" and path == "/":
                    return self._reply(200, {"title": "qdrant - vector search engine (test stand-in)",
                                             "version": server_version, "commit": None})
                if self.command == "GET" and path in ("/healthz", "/livez", "/readyz"):
                    return self._reply(200, {"title": f"{path[1:]} check passed"})
                body = json.loads(raw) if raw.strip() else None
                result = engine.dispatch(self.command, path, body)
            except NotFound as exc:
                return self._error(404, str(exc), started)
            except (ValueError, KeyError) as exc:
                # pydantic.ValidationError and json.JSONDecodeError are ValueErrors too.
                if not isinstance(exc, pydantic.ValidationError) and _not_found(exc):
                    return self._error(404, f"Not found: {exc}", started)
                return self._error(400, f"Wrong input: {exc}", started)
            except Exception as exc:   # the server answers 500 rather than hanging up
                return self._error(500, f"Service internal error: {type(exc).__name__}: {exc}", started)
            self._reply(200, {"result": to_jsonable_python(result), "status": "ok",
                              "time": round(time.perf_counter() - started, 6)})

        def _error(self, status: int, message: str, started: float) -> None:
            self._reply(status, {"status": {"error": message}, "time": round(time.perf_counter() - started, 6)})

        do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _handle

    return _Server((host, port), Handler)


class StandinProcess:
    """The stand-in in a process of its own, on a port chosen here: its URL is known at once, so the processes
    that will use it can start while it starts (wait_ready() before the first call)."""

    def __init__(self, path: str | None = None, port: int | None = None):
        if port is None:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        args = [sys.executable, "-m", "tests.qdrant_standin", "--port", str(port)] + (["--path", path] if path else [])
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self._ready = False

    def wait_ready(self, timeout_s: float = 60.0) -> str:
        if not self._ready:
            said: list[str] = []
            reader = threading.Thread(target=lambda: said.append(self.proc.stdout.readline()), daemon=True)
            reader.start()
            reader.join(timeout_s)
            if not (said and said[0].startswith("listening ")):
                self.stop()
                raise RuntimeError(f"the Qdrant stand-in did not start (exit code {self.proc.poll()}, "
                                   f"said {said[0] if said else ''!r})")
            self._ready = True
        return self.url

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@contextlib.contextmanager
def running(path: str | None = None, timeout_s: float = 60.0) -> Iterator[str]:
    """Start the stand-in in its own process; yield its base URL once it answers; stop it at the end."""
    standin = StandinProcess(path)
    try:
        yield standin.wait_ready(timeout_s)
    finally:
        standin.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6333)
    parser.add_argument("--path", default=None, help="keep the collections in this folder (default: in memory)")
    a = parser.parse_args()
    server = make_server(a.host, a.port, a.path)
    print(f"listening http://{a.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
