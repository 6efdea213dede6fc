"""Two app processes, one system (issue 17): the app under real gunicorn with two workers, on one real Redis
(REDIS_URL) and one Qdrant over HTTP (QDRANT_URL: tests/qdrant_standin.py, qdrant-client's engine behind
Qdrant's REST protocol in its own process), with both processes' Chatwoot, ingestion and meta workers on.

Every request is sent on a keep-alive connection "pinned" to one worker: gunicorn's gthread worker keeps a
connection in the process that accepted it, and each answer names its process (a header added by the test's
app factory below). So every check says which process did what:
  (a) concurrent turns of one conversation on both processes never overlap, and each sees the ones before it;
  (b) a company's rate limit and monthly quota are counted once across both processes, and /metrics of either
      process adds up both (Prometheus multiprocess mode, deploy/gunicorn.conf.py);
  (c) a company onboarded through one process is served by the other within the documented second, and
      its first Chatwoot and ingestion jobs are handled whichever process's worker takes them;
  (d) Chatwoot webhooks delivered to both processes get exactly one reply each (none twice, none lost);
  (e) a document uploaded through one process is found through the other (also when a worker stores it);
  (f) both meta workers running, and asked at once through both processes, handle each queued question once;
  (g) a widget page whose event stream one process holds gets the answer the other process gave.
The Qdrant stand-in is checked last against the engine it wraps (the same answers in process and over HTTP).
"""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from app.conversations.pipeline import LEARNING_ROUTES
from tests import qdrant_standin
from tests.chatwoot_fake import FakeChatwoot, message_event, signed
from tests.http_doubles import JsonHandler, serve
from tests.redis_cluster import free_port

pytestmark = pytest.mark.timeout(240)

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "mp-admin-token-0123456789abcdef"
MASTER_KEY = "mp-master-key-0123456789abcdef0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
WEBHOOK_SECRET = "whsec-alpha-0123456789"
PID_HEADER = "X-Misybot-Worker"       # w<pid> of the process that answered (app/audit/logs.py)
PROBE = "/__which-process"            # any path: a 404 that says which process answered
CONFIG_RELOAD_S = 1.0                 # README: "every other app process picks it up within a second"
RATE_LIMIT = 10                       # ratelim's requests per minute
MONTHLY_MESSAGES = 4                  # quota's monthly messages
ASYNC_BYTES = 4096                    # uploads larger than this are stored by an ingestion worker
ORIGIN = "https://alpha.example"      # alpha's website, where its chat widget runs

COMPANIES = """companies:
  - company_id: alpha
    company_name: Clínica Alpha
    redis_prefix: "alpha:"
    vectorstore_index: alpha_documents
    language: es
    timezone: America/Bogota
    industry: medicina estética
    services: Toxina botulínica y rellenos
    sales_agent_name: Ana, de Alpha
    memory: {{max_messages: 40, ttl_hours: 2}}
    allowed_origins: ["{origin}"]
    chatwoot: {{account_id: 101, base_url: '{chatwoot}'}}

  - company_id: lockco
    company_name: Clínica Lock
    redis_prefix: "lockco:"
    vectorstore_index: lockco_documents
    language: es
    timezone: America/Bogota
    industry: medicina estética
    services: Toxina botulínica
    sales_agent_name: Lola, de Lock
    memory: {{max_messages: 40, ttl_hours: 2}}
    ai: {{provider: openai, model: test-model}}

  - company_id: ratelim
    company_name: Spa Rate
    redis_prefix: "ratelim:"
    vectorstore_index: ratelim_documents
    language: es
    timezone: America/Bogota
    industry: spa
    services: Masajes
    sales_agent_name: Rita
    limits: {{requests_per_minute: {rate}}}

  - company_id: quota
    company_name: Spa Quota
    redis_prefix: "quota:"
    vectorstore_index: quota_documents
    language: es
    timezone: America/Bogota
    industry: spa
    services: Masajes
    sales_agent_name: Quima
    limits: {{monthly_messages: {quota}}}
"""
BOTOX = "## Bótox\n- Precio del bótox: $850.000 COP por tres zonas.\n- Dura entre cuatro y seis meses."


# -- a pinned connection --------------------------------------------------------------------------------------
@dataclass
class Reply:
    status: int
    headers: dict
    body: object
    pid: int
    sent_at: float          # time.monotonic() when the request was sent


class Pinned:
    """One keep-alive connection, and so one gunicorn worker: every answer must come from `pid`."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=90)
        self.pid = self.call("GET", PROBE, pinned=False).pid

    def call(self, method: str, path: str, json_body=None, headers=None, raw: bytes | None = None,
             pinned: bool = True) -> Reply:
        body = raw if raw is not None else (json.dumps(json_body).encode() if json_body is not None else None)
        hdrs = {"Connection": "keep-alive", **({"Content-Type": "application/json"} if body is not None else {}),
                **(headers or {})}
        sent = time.monotonic()
        self.conn.request(method, path, body=body, headers=hdrs)
        resp = self.conn.getresponse()
        data = resp.read()
        pid = int(resp.getheader(PID_HEADER, "w0")[1:])
        if pinned:
            # A reconnect would have landed anywhere: the test could no longer say which process did what.
            assert pid == self.pid, f"the connection pinned to {self.pid} was answered by {pid}"
        ctype = resp.getheader("Content-Type", "")
        parsed = json.loads(data) if data and "json" in ctype else data.decode(errors="replace")
        return Reply(resp.status, dict(resp.getheaders()), parsed, pid, sent)

    def close(self) -> None:
        self.conn.close()


# -- a slow chat model that notices overlapping turns ------------------------------------------------------------
TAG = re.compile(r"\bturno-(\d\d)\b")


class RecordingLLM:
    """An OpenAI-compatible chat endpoint (the router's classification and the grounded answer) that takes
    `delay_s` per call and records, per call, when it ran, which turn asked (the `turno-NN` tag of the last
    message) and which earlier turns that request carried as history."""

    def __init__(self, delay_s: float = 0.2):
        self.calls: list[dict] = []
        self.delay_s = delay_s
        self._lock = threading.Lock()
        outer = self

        class Handler(JsonHandler):
            def do_POST(self):
                body = self.read_json()
                started = time.monotonic()
                msgs = body["messages"]
                classify = msgs[0]["content"].startswith("Clasifica")
                current = TAG.findall(msgs[-1]["content"])
                history = [t for msg in msgs[1:-1] if msg["role"] == "user" for t in TAG.findall(msg["content"])]
                time.sleep(outer.delay_s)
                tag = current[-1] if current else None
                reply = "sales" if classify else f"Con gusto: respuesta al turno-{tag} [1]"
                with outer._lock:
                    outer.calls.append({"tag": tag, "kind": "router" if classify else "answer", "history": history,
                                        "start": started, "end": time.monotonic()})
                self._send(200, {"id": "chatcmpl-mp", "object": "chat.completion", "created": int(time.time()),
                                 "model": body["model"], "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": reply}}],
                                 "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

        self.httpd, base = serve(Handler)
        self.url = f"{base}/v1"

    def close(self) -> None:
        self.httpd.shutdown()


# -- the system under test ----------------------------------------------------------------------------------
def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _until(predicate, timeout_s: float, every_s: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(every_s)


class Cluster:
    def __init__(self, port: int, proc: subprocess.Popen, log: Path, redis_client: redis.Redis,
                 chatwoot: FakeChatwoot, llm: RecordingLLM, qdrant_url: str):
        self.port, self.proc, self.log, self.redis = port, proc, log, redis_client
        self.chatwoot, self.llm, self.qdrant_url = chatwoot, llm, qdrant_url
        self.pool: dict[int, list[Pinned]] = {}
        self.keys: dict[str, str] = {}

    def settle(self, timeout_s: float) -> None:
        """Until every job on the Chatwoot and ingestion streams was delivered to a worker and acknowledged, and
        none waits for a retry: after that no reply can still come and no job can still end."""
        from app.channels.chatwoot_webhook import GROUP, JOBS, RETRY
        from app.workers.ingestion import STREAM, IngestionWorker

        def settled() -> bool:
            for stream in (JOBS, STREAM):
                if not self.redis.exists(stream):
                    continue
                last = self.redis.xinfo_stream(stream)["last-generated-id"]
                for group in self.redis.xinfo_groups(stream):
                    # (not "lag": handled entries are deleted, and Redis cannot count the lag across deletions)
                    if group["name"] == GROUP and (group["pending"] or group["last-delivered-id"] != last):
                        return False
            return not (self.redis.zcard(RETRY) or self.redis.zcard(IngestionWorker.RETRY))
        _until(settled, timeout_s, 0.2, "the job streams to settle")

    def pin(self, per_worker: int, timeout_s: float) -> None:
        """Open connections until each of the two workers holds `per_worker` of them."""
        deadline = time.monotonic() + timeout_s
        while not (len(self.pool) >= 2 and all(len(p) >= per_worker for p in self.pool.values())):
            assert self.proc.poll() is None, f"gunicorn exited:\n{self.log.read_text()[-4000:]}"
            assert time.monotonic() < deadline, \
                f"in {timeout_s} s only these workers answered: { {k: len(v) for k, v in self.pool.items()} }"
            try:
                conn = Pinned(self.port)
            except (OSError, http.client.HTTPException):
                time.sleep(0.2)      # not listening yet
                continue
            pool = self.pool.setdefault(conn.pid, [])
            if len(pool) < per_worker:
                pool.append(conn)
            else:
                conn.close()
                time.sleep(0.05)     # the other worker is still booting
        assert len(self.pool) == 2, f"more than two worker processes answered: {sorted(self.pool)}"

    @property
    def pids(self) -> list[int]:
        return sorted(self.pool)

    def worker(self, i: int, lane: int = 0) -> Pinned:
        """Worker i (0 or 1), on its lane-th pinned connection."""
        return self.pool[self.pids[i]][lane]

    def tenant_keys(self, company: str, rest: str) -> list[str]:
        """A company's Redis keys ending in `rest`, whatever form its prefix takes (`alpha:`, `{alpha}:`)."""
        return [k for k in self.redis.scan_iter(match=f"*{rest}", count=1000)
                if k.endswith(rest) and k[:-len(rest)].strip("{}:") == company]

    def connect_to(self, pid: int, timeout_s: float = 20) -> Pinned:
        """A new connection held by that worker."""
        deadline = time.monotonic() + timeout_s
        while True:
            conn = Pinned(self.port)
            if conn.pid == pid:
                return conn
            conn.close()
            assert time.monotonic() < deadline, f"no new connection reached worker {pid}"

    def company_key(self, company: str) -> dict:
        if company not in self.keys:
            r = self.worker(0).call("POST", f"/admin/companies/{company}/api-keys", {}, ADMIN)
            assert r.status == 201, r.body
            self.keys[company] = r.body["api_key"]
        return {"X-API-Key": self.keys[company]}


@pytest.fixture(scope="module")
def mp_redis_url(redis_url) -> str:
    return redis_url


@pytest.fixture(scope="module")
def standin_process():
    """Started, not yet waited for: gunicorn starts meanwhile (cluster)."""
    standin = qdrant_standin.StandinProcess()
    yield standin
    standin.stop()


@pytest.fixture(scope="module")
def standin(standin_process) -> str:
    return standin_process.wait_ready()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, mp_redis_url, standin_process):
    tmp = tmp_path_factory.mktemp("multiprocess")
    r = redis.Redis.from_url(mp_redis_url, decode_responses=True)
    r.flushdb()
    chatwoot, llm = FakeChatwoot(), RecordingLLM()
    config = tmp / "companies_config.yaml"
    config.write_text(COMPANIES.format(chatwoot=chatwoot.url, rate=RATE_LIMIT, quota=MONTHLY_MESSAGES, origin=ORIGIN))
    (tmp / "metrics").mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MISYBOT_", "OPENAI_", "QDRANT_", "REDIS_", "PROMETHEUS_", "EMBEDDINGS_"))}
    env.update(
        REDIS_URL=mp_redis_url, QDRANT_URL=standin_process.url, DATA_DIR=str(tmp / "data"), COMPANIES_CONFIG_FILE=str(config),
        TENANTS_DIR=str(tmp / "tenants"), MISYBOT_ADMIN_TOKEN=ADMIN_TOKEN, MISYBOT_MASTER_KEY=MASTER_KEY,
        MISYBOT_ENV="test", LOG_LEVEL="WARNING", OPENAI_BASE_URL=llm.url, OPENAI_API_KEY="sk-test",
        CHATWOOT_WORKER="true", INGESTION_WORKER="true", META_WORKER="true", META_INTERVAL_S="1",
        AUDIT_WORKER="true", BOOKING_WEBHOOK_WORKER="false", INGEST_ASYNC_BYTES=str(ASYNC_BYTES),
        PROMETHEUS_MULTIPROC_DIR=str(tmp / "metrics"), GUNICORN_THREADS="16", PYTHONUNBUFFERED="1",
        WIDGET_STREAM_S="3")          # a widget's event stream ends soon by itself, so gunicorn stops at once
    log = tmp / "gunicorn.log"
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    with open(log, "w") as out:
        # --keep-alive longer than the module runs: a pinned connection must never be closed under a test.
        proc = subprocess.Popen([gunicorn, "-c", "deploy/gunicorn.conf.py", "-w", "2", "-b", f"127.0.0.1:{port}",
                                 "--keep-alive", "300", "app.factory:create_app()"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    c = Cluster(port, proc, log, r, chatwoot, llm, standin_process.url)
    try:
        started = time.monotonic()
        standin_process.wait_ready()
        _until(lambda: _listening(port) or proc.poll() is not None, 150, 0.1, "gunicorn to listen")
        listening = time.monotonic()
        c.pin(per_worker=3, timeout_s=150)
        booted = time.monotonic()
        _warm_up(c)
        print(f"\ngunicorn: master listening after {listening - started:.1f} s, both workers answering "
              f"{booted - listening:.1f} s later, warmed up {time.monotonic() - booted:.1f} s later")
        yield c
    finally:
        for conns in c.pool.values():
            for conn in conns:
                conn.close()
        stopping = time.monotonic()
        proc.send_signal(signal.SIGTERM)       # graceful: each worker stops its background workers
        try:
            proc.wait(30)
            print(f"\ngunicorn stopped {time.monotonic() - stopping:.1f} s after SIGTERM")
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        chatwoot.close()
        llm.close()
        r.flushdb()
        r.close()


def _warm_up(c: Cluster) -> None:
    """One chat turn per process first: a process's first turn trains the intent classifier (seconds on a busy
    machine), which would otherwise hold the first conversation lock of the tests for that long."""
    key = c.company_key("lockco")
    assert c.worker(0).call("POST", "/documents", {"content": BOTOX}, key).status == 201
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda i: c.worker(i).call("POST", f"/conversations/warm-{i}/test",
                                                           {"message": "¿cuánto vale el bótox?"}, key), (0, 1)))
    assert [r.status for r in replies] == [200, 200], [r.body for r in replies]


# -- (a) the conversation lock ----------------------------------------------------------------------------
def test_concurrent_turns_of_one_conversation_on_both_processes_never_interleave(cluster):
    c = cluster
    key = c.company_key("lockco")
    c.llm.calls.clear()
    jobs = [(i % 2, i // 2, f"turno-{i:02d}: ¿cuánto vale el bótox?") for i in range(6)]    # 3 per process
    with ThreadPoolExecutor(len(jobs)) as pool:
        replies = list(pool.map(lambda j: c.worker(j[0], j[1]).call(
            "POST", "/conversations/ana/test", {"message": j[2]}, key), jobs))
    assert [r.status for r in replies] == [200] * 6, [r.body for r in replies]
    assert Counter(r.pid for r in replies) == {c.pids[0]: 3, c.pids[1]: 3}

    calls = [call for call in c.llm.calls if call["tag"] is not None]
    assert Counter(call["kind"] for call in calls)["answer"] == 6      # (the LLM router only when unsure)
    # The model is called by one turn at a time: no call of one turn overlaps a call of another.
    calls.sort(key=lambda call: call["start"])
    for before, after in zip(calls, calls[1:], strict=False):
        if before["tag"] != after["tag"]:
            assert before["end"] <= after["start"], f"turns {before['tag']} and {after['tag']} overlapped"
    # Each turn saw the turns before it as its history, in order.
    answered = [call for call in calls if call["kind"] == "answer"]
    order = [call["tag"] for call in answered]
    assert sorted(order) == [f"{i:02d}" for i in range(6)]
    for i, call in enumerate(answered):
        # (the prompt carries the last three exchanges: graphs/llm.py)
        assert call["history"] == order[:i][-3:], f"turn {call['tag']} saw {call['history']}, not {order[:i]}"
    # The stored history: question, its own answer, in the order the turns ran, whichever process reads it.
    for i in (0, 1):
        messages = c.worker(i).call("GET", "/conversations/ana", headers=key).body["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant"] * 6
        assert [TAG.findall(m["content"]) for m in messages] == [[t] for t in order for _ in (0, 1)]


# -- (b) rate limits and the monthly quota ---------------------------------------------------------------------
def test_the_rate_limit_is_counted_once_across_both_processes(cluster):
    c = cluster
    key = c.company_key("ratelim")
    # The sliding window is exact from a bucket's start: keep the burst clear of the next minute's boundary.
    _until(lambda: time.time() % 60 < 45, 20, 0.5, "a minute with room for the burst")
    replies = [c.worker(i % 2).call("GET", "/documents", headers=key) for i in range(RATE_LIMIT + 6)]
    assert {r.pid for r in replies} == set(c.pids)
    assert [r.status for r in replies] == [200] * RATE_LIMIT + [429] * 6
    # Both processes count down the same allowance, one request at a time.
    remaining = [int(r.headers["X-RateLimit-Remaining"]) for r in replies[:RATE_LIMIT]]
    assert remaining == list(range(RATE_LIMIT - 1, -1, -1))
    assert all(r.body["error"]["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1
               for r in replies[RATE_LIMIT:])

    # Prometheus multiprocess mode: either process's /metrics adds up the refusals of both.
    def refused(i: int) -> float:
        text = c.worker(i).call("GET", "/metrics", headers=ADMIN).body
        found = re.search(r'^misybot_rate_limited_total\{tenant="ratelim"\} (\S+)$', text, re.M)
        return float(found.group(1)) if found else 0.0
    assert refused(0) == refused(1) == 6.0


def test_the_monthly_quota_is_counted_once_across_both_processes(cluster):
    c = cluster
    key = c.company_key("quota")
    jobs = [(i % 2, i // 2) for i in range(MONTHLY_MESSAGES + 2)]          # 3 at once on each process
    with ThreadPoolExecutor(len(jobs)) as pool:
        replies = list(pool.map(lambda j: c.worker(*j).call(
            "POST", f"/conversations/q{j[0]}{j[1]}/test", {"message": "hola, ¿qué masajes tienen?"}, key), jobs))
    statuses = Counter(r.status for r in replies)
    assert statuses == {200: MONTHLY_MESSAGES, 429: 2}, [r.body for r in replies]
    assert {r.body["error"]["code"] for r in replies if r.status == 429} == {"monthly_quota_exceeded"}
    month = time.strftime("%Y%m", time.gmtime())
    [counter] = c.tenant_keys("quota", f"usage:messages:{month}")
    assert c.redis.get(counter) == str(MONTHLY_MESSAGES)                  # the refused ones are not counted


# -- (c) one configuration ---------------------------------------------------------------------------------
def test_a_company_onboarded_through_one_process_is_served_by_the_other_within_a_second(cluster):
    c = cluster
    a, b = c.worker(0), c.worker(1)
    b.call("GET", "/companies", headers=ADMIN)        # b has the config as it was
    r = a.call("POST", "/admin/companies", {"company_id": "newco", "name": "Nueva Clínica",
                                             "documents": [{"title": "Horario", "content": "Abrimos de 8 a 18."}]},
               ADMIN)
    assert r.status == 201, r.body
    published = time.monotonic()          # the version was published before this answer came back
    key = {"X-API-Key": r.body["api_key"]}
    tries: list[Reply] = []

    def served() -> bool:
        tries.append(b.call("GET", "/documents", headers=key))
        return tries[-1].status == 200
    _until(served, 15, 0.05, "the other process to serve the new company")
    # A process checks the published version at most once a second: whatever b answered before that, every
    # request sent later than a second after the publication was served.
    late_refusals = [t for t in tries if t.status != 200 and t.sent_at > published + CONFIG_RELOAD_S]
    assert late_refusals == [], [(round(t.sent_at - published, 2), t.status) for t in late_refusals]
    assert tries[-1].body["total"] == 1
    listed = b.call("GET", "/companies", headers=ADMIN).body
    assert "newco" in [co["company_id"] for co in listed["companies"]]
    print(f"\nconfig: other process served the new company {tries[-1].sent_at - published:.2f} s after publication "
          f"({len(tries)} tries)")


def test_the_workers_of_both_processes_serve_a_company_onboarded_through_one_of_them(cluster):
    c = cluster
    a = c.worker(0)
    secret = "whsec-fresh-0123456789"
    r = a.call("POST", "/admin/companies", {
        "company_id": "fresh", "name": "Clínica Fresca", "documents": [{"title": "Bótox", "content": BOTOX}],
        "chatwoot": {"account_id": 202, "base_url": c.chatwoot.url, "api_token": "token-fresh",
                     "webhook_secret": secret}}, ADMIN)
    assert r.status == 201, r.body
    key = {"X-API-Key": r.body["api_key"]}
    # Only through the process that onboarded it: the other one hears of the company only through Redis, and
    # its Chatwoot and ingestion workers take about half of these jobs.
    conversations = list(range(91, 99))
    for conv in conversations:
        raw, headers = signed(secret, message_event(9000 + conv, account=202, conv=conv, content="¿cuánto vale el bótox?"))
        assert a.call("POST", "/webhook/chatwoot", raw=raw, headers=headers).body.get("status") == "queued"
    uploads = []
    for n in range(4):
        text = f"# Sede {n}\n" + "\n".join(f"La sede {n} atiende la consulta {i} de lunes a viernes." for i in range(80))
        queued = a.call("POST", "/documents", {"title": f"Sede {n}", "content": text}, key)
        assert queued.status == 202, queued.body
        uploads.append(queued.body["status_url"])

    c.settle(45)
    replies = {conv: len(c.chatwoot.messages(202, conv)) for conv in conversations}
    jobs = [a.call("GET", u, headers=key).body["status"] for u in uploads]
    assert (replies, jobs) == ({conv: 1 for conv in conversations}, ["done"] * len(uploads))


# -- (d) Chatwoot webhooks -----------------------------------------------------------------------------------
def test_webhooks_on_both_processes_get_exactly_one_reply_each(cluster):
    from app.channels.chatwoot_webhook import DEAD, GROUP, JOBS
    from app.workers.chatwoot import ALIVE

    c = cluster
    assert c.worker(1).call("POST", "/documents", {"content": BOTOX}, c.company_key("alpha")).status == 201
    assert c.worker(0).call("PUT", "/admin/companies/alpha/chatwoot",
                            {"api_token": "token-alpha", "webhook_secret": WEBHOOK_SECRET}, ADMIN).status == 200
    # Both processes run a Chatwoot worker in the one consumer group, and say they are alive.
    consumers = {f"w{pid}" for pid in c.pids}
    _until(lambda: consumers <= {i["name"] for i in c.redis.xinfo_consumers(JOBS, GROUP)}
           and all(c.redis.exists(f"{ALIVE}{name}") for name in consumers), 10, what="both Chatwoot workers")

    conversations = list(range(71, 79))
    answers = []
    for n, conv in enumerate(conversations):
        raw, headers = signed(WEBHOOK_SECRET, message_event(7000 + conv, conv=conv, content="¿cuánto vale el bótox?"))
        answers.append(c.worker(n % 2).call("POST", "/webhook/chatwoot", raw=raw, headers=headers))
    assert [r.body.get("status") for r in answers] == ["queued"] * len(conversations), [r.body for r in answers]
    # The same delivery sent to both processes at once (a retry racing the first try), and Chatwoot's duplicate
    # message_created under a new delivery id: one job between them.
    raw, headers = signed(WEBHOOK_SECRET, message_event(7100, conv=80, content="hola, ¿tienen parqueadero?"),
                          delivery="dlv-both")
    with ThreadPoolExecutor(2) as pool:
        both = list(pool.map(lambda i: c.worker(i, 1).call("POST", "/webhook/chatwoot", raw=raw, headers=headers),
                             (0, 1)))
    assert sorted(r.body["status"] for r in both) == ["duplicate", "queued"], [r.body for r in both]
    raw, headers = signed(WEBHOOK_SECRET, message_event(7100, conv=80, content="hola, ¿tienen parqueadero?"))
    assert c.worker(1).call("POST", "/webhook/chatwoot", raw=raw, headers=headers).body == {
        "status": "duplicate", "reason": "message"}
    conversations.append(80)

    c.settle(60)
    assert {conv: len(c.chatwoot.messages(101, conv)) for conv in conversations} == {conv: 1 for conv in conversations}
    assert all("850.000" in c.chatwoot.messages(101, conv)[0]["content"] for conv in conversations[:-1])
    assert not c.redis.exists(DEAD)                      # nothing gave up


# -- (e) documents -----------------------------------------------------------------------------------------
def test_a_document_uploaded_through_one_process_is_found_through_the_other(cluster):
    c = cluster
    key = c.company_key("alpha")
    a, b = c.worker(0), c.worker(1)
    r = a.call("POST", "/documents", {"title": "Parqueadero", "content": "# Parqueadero\nParqueadero gratuito para "
                                      "pacientes en el sótano del edificio, entrada por la calle 93."}, key)
    assert r.status == 201, r.body
    hits = b.call("POST", "/documents/search", {"query": "¿tienen parqueadero?"}, key).body["results"]
    assert hits and hits[0]["document_id"] == r.body["document_id"] and "sótano" in hits[0]["content"]

    # Larger than INGEST_ASYNC_BYTES: queued through b, stored by whichever process's ingestion worker took it.
    big = "# Cuidados posteriores\n" + "\n".join(
        f"Recomendación {i}: después del tratamiento con rellenos evite el sol directo y el ejercicio intenso "
        f"durante {i % 5 + 1} días, y aplique la crema cicatrizante número {i}." for i in range(60))
    assert len(big.encode()) > ASYNC_BYTES
    queued = b.call("POST", "/documents", {"title": "Cuidados", "content": big}, key)
    assert queued.status == 202, queued.body
    status_url = queued.body["status_url"]
    done = _until(lambda: (s := a.call("GET", status_url, headers=key).body)["status"] in ("done", "failed") and s,
                  60, 0.2, "the ingestion job")
    assert done["status"] == "done", done
    hits = a.call("POST", "/documents/search", {"query": "crema cicatrizante después de rellenos"}, key).body["results"]
    assert hits and hits[0]["title"] == "Cuidados"
    listed = {d["title"] for d in b.call("GET", "/documents", headers=key).body["documents"]}
    assert {"Parqueadero", "Cuidados"} <= listed


# -- (f) the meta worker -----------------------------------------------------------------------------------
def test_each_queued_learning_is_handled_once_by_one_of_the_meta_workers(cluster):
    c = cluster
    key = c.company_key("alpha")
    questions = ["¿tienen parqueadero para pacientes?", "¿cuánto vale el bótox?", "¿cuánto dura el bótox?",
                 "¿hacen rellenos de labios?", "¿atienden los sábados?", "¿aceptan tarjeta de crédito?"]
    queued = 0
    for n, question in enumerate(questions):
        w = c.worker(n % 2)
        assert w.call("POST", "/privacy/consent", {"user_id": f"m{n}", "consent_type": "global_learning",
                                                   "granted": True, "channel": "web"}, key).status == 200
        turn = w.call("POST", f"/conversations/m{n}/test", {"message": question}, key)
        assert turn.status == 200, turn.body
        queued += turn.body["agent"] in LEARNING_ROUTES          # what the pipeline queues for the meta-agent
    assert queued >= 4
    # Both meta workers run every second; an admin also asks each process to run it now, at the same time.
    with ThreadPoolExecutor(2) as pool:
        forced = list(pool.map(lambda i: c.worker(i, 2).call("POST", "/admin/meta/process", headers=ADMIN), (0, 1)))
    assert [r.status for r in forced] == [200, 200], [r.body for r in forced]
    # An item leaves the outbox only once it was handled (app/privacy/learning_outbox.py).
    _until(lambda: not any(c.redis.llen(k) for k in c.tenant_keys("alpha", "meta_outbox")), 60, 0.2,
           "the outbox to be drained")
    learnings = c.worker(1).call("GET", "/admin/meta/learnings?per_page=100", headers=ADMIN).body["learnings"]
    # Each question was either a new learning (count 1) or merged into one (count + 1): handled twice, the
    # counts would add up to more; lost, to fewer.
    assert sum(item["count"] for item in learnings) == queued, learnings
    by_forced = sum(sum(r.body["processed"].values()) for r in forced)
    assert by_forced <= queued


# -- (g) the website widget --------------------------------------------------------------------------------
def test_a_widget_page_streaming_from_one_process_gets_the_answer_the_other_gave(cluster):
    c = cluster
    creds = c.worker(0).call("POST", "/admin/companies/alpha/credentials", {"kinds": ["publishable"]}, ADMIN)
    assert creds.status == 201, creds.body
    pk = creds.body["publishable_key"]
    session = c.worker(0).call("POST", f"/v1/widget/session?pk={pk}", {}, {"Origin": ORIGIN})
    assert session.status == 200, session.body
    auth = {"Origin": ORIGIN, "Authorization": f"Bearer {session.body['token']}"}
    # The page's event stream is held by one process (the stream ends every WIDGET_STREAM_S; the page, like
    # the SDK, comes back with Last-Event-ID and misses nothing) ...
    events: list[dict] = []
    done = threading.Event()
    current: list[Pinned] = []

    def follow() -> None:
        last = None
        while not done.is_set():
            conn = c.connect_to(c.pids[0])
            current[:] = [conn]
            conn.conn.request("GET", f"/v1/widget/events?pk={pk}",
                              headers={**auth, **({"Last-Event-ID": last} if last else {})})
            resp = conn.conn.getresponse()
            assert resp.status == 200 and int(resp.getheader(PID_HEADER)[1:]) == c.pids[0]
            buffer = ""
            try:
                while chunk := resp.read1(65536):
                    buffer += chunk.decode()
                    *blocks, buffer = buffer.split("\n\n")
                    for block in blocks:
                        fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
                        if "event" in fields:
                            events.append({"type": fields["event"], **json.loads(fields["data"])})
                            last = fields["id"]
            except (OSError, ValueError, AttributeError, http.client.HTTPException):
                pass            # the test hung up
            conn.close()
    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    _until(lambda: current, 20, 0.05, "the page's event stream")
    # ... and the visitor's message goes to the other one.
    reply = c.worker(1).call("POST", f"/v1/widget/messages?pk={pk}", {"message": "¿cuánto vale el bótox?"},
                             {**auth, "Idempotency-Key": "msg-0000000001"})
    assert reply.status == 200 and reply.body["bot_response"], reply.body
    [message] = _until(lambda: [e for e in events if e["type"] == "message"], 20, 0.1,
                       "the answer on the page's event stream")
    assert message["id"] == reply.body["id"] and message["text"] == reply.body["bot_response"]
    done.set()
    current[0].conn.sock.shutdown(socket.SHUT_RDWR)
    reader.join(10)


# -- the stand-in itself (last: its process starts alongside gunicorn's, see standin_process) --------------
def _exercise_qdrant(client) -> dict:
    """Every kind of call the app makes (app/knowledge/index.py, global_knowledge.py, api/health.py), and
    their results in comparable form."""
    from qdrant_client import models as q

    out: dict = {"exists_before": client.collection_exists("probe")}
    client.create_collection("probe", vectors_config={"dense": q.VectorParams(size=4, distance=q.Distance.COSINE)},
                             sparse_vectors_config={"lexical": q.SparseVectorParams(modifier=q.Modifier.IDF)})
    out["exists"] = client.collection_exists("probe")
    out["dense_size"] = client.get_collection("probe").config.params.vectors["dense"].size
    out["listed"] = "probe" in [c.name for c in client.get_collections().collections]
    ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"p{i}")) for i in range(12)]
    points = [q.PointStruct(id=ids[i], vector={"dense": [1.0, float(i), 0.5, -i / 3],
                                               "lexical": q.SparseVector(indices=[i, 50], values=[1.0, 0.5])},
                            payload={"company_id": "a" if i % 2 else "b", "document_id": f"d{i % 3}", "n": i})
              for i in range(12)]
    out["upsert"] = client.upsert("probe", points=points, wait=True).status
    own = q.Filter(must=[q.FieldCondition(key="company_id", match=q.MatchValue(value="a"))])
    out["count"] = client.count("probe", count_filter=own, exact=True).count
    page, offset = client.scroll("probe", scroll_filter=own, limit=4, with_payload=True, with_vectors=True)
    rest, end = client.scroll("probe", scroll_filter=own, limit=4, offset=offset, with_payload=True)
    out["scroll"] = ([str(p.id) for p in page], str(offset), [str(p.id) for p in rest], end)
    out["scroll_vectors"] = (page[0].vector["dense"], page[0].vector["lexical"].indices, page[0].payload)
    got = client.retrieve("probe", ids=[ids[1], ids[2], str(uuid.uuid4())], with_payload=True, with_vectors=True)
    out["retrieve"] = sorted((str(p.id), p.payload["n"], p.vector["dense"]) for p in got)
    dense = [1.0, 2.0, 0.5, -0.6]
    sparse = q.SparseVector(indices=[3, 50], values=[1.0, 1.0])

    def ranked(res):
        return [(str(p.id), round(p.score, 5), p.payload) for p in res.points]

    out["dense"] = ranked(client.query_points("probe", query=dense, using="dense", limit=3, with_payload=True))
    out["sparse"] = ranked(client.query_points("probe", query=sparse, using="lexical", query_filter=own, limit=3,
                                               with_payload=True))
    out["rrf"] = ranked(client.query_points(
        "probe", prefetch=[q.Prefetch(query=dense, using="dense", limit=20, filter=own),
                           q.Prefetch(query=sparse, using="lexical", limit=20)],
        query=q.RrfQuery(rrf=q.Rrf(k=2, weights=[0.2, 1.0])), limit=5, with_payload=True))
    out["fusion"] = ranked(client.query_points(
        "probe", prefetch=[q.Prefetch(query=dense, using="dense", limit=20),
                           q.Prefetch(query=sparse, using="lexical", limit=20)],
        query=q.FusionQuery(fusion=q.Fusion.RRF), limit=4))
    out["overwrite"] = client.overwrite_payload("probe", payload={"company_id": "a", "x": 1}, points=[ids[0]],
                                                wait=True).status
    out["set_by_filter"] = client.set_payload("probe", payload={"y": 2}, points=q.Filter(must=[
        q.FieldCondition(key="n", match=q.MatchAny(any=[4, 6]))]), wait=True).status
    out["delete_key"] = client.delete_payload("probe", keys=["document_id"], points=[ids[6]], wait=True).status
    out["index"] = client.create_payload_index("probe", field_name="company_id",
                                               field_schema=q.PayloadSchemaType.KEYWORD, wait=True).status
    out["payloads"] = [p.payload for p in client.retrieve("probe", ids=[ids[0], ids[4], ids[6]])]
    out["delete_ids"] = client.delete("probe", points_selector=q.PointIdsList(points=[ids[1]]), wait=True).status
    out["delete_filter"] = client.delete("probe", points_selector=q.FilterSelector(filter=q.Filter(must=[
        q.FieldCondition(key="document_id", match=q.MatchValue(value="d0"))])), wait=True).status
    out["count_after"] = client.count("probe", exact=True).count
    out["dropped"] = client.delete_collection("probe")
    out["exists_after"] = client.collection_exists("probe")
    return out


def test_the_qdrant_standin_answers_like_the_engine_it_wraps(standin):
    """Each call the app makes goes over HTTP to the stand-in and comes back as the same engine answers in process;
    missing collections and bad input are HTTP errors, as from a server."""
    from qdrant_client import QdrantClient
    from qdrant_client.http.exceptions import UnexpectedResponse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # local mode's "payload indexes have no effect"
        expected = _exercise_qdrant(QdrantClient(":memory:"))
    remote = QdrantClient(url=standin, timeout=10)            # version check on: GET / answers like a server
    assert _exercise_qdrant(remote) == expected
    assert expected["count"] == 6 and expected["count_after"] == 9 and len(expected["rrf"]) == 5
    with pytest.raises(UnexpectedResponse) as missing:
        remote.get_collection("nope")
    assert missing.value.status_code == 404
    # The client validates what it sends; a body that gets past it (another client, a version skew) is a 400.
    bad = httpx.put(f"{standin}/collections/bad", json={"vectors": {"size": "four", "distance": "Cosine"}})
    assert bad.status_code == 400 and "error" in bad.json()["status"] and not remote.collection_exists("bad")
    answer = httpx.get(f"{standin}/collections").json()
    assert answer["status"] == "ok" and isinstance(answer["time"], float) and "collections" in answer["result"]
