"""Durable jobs on a Redis stream, shared by every process: the one job mechanism behind the Chatwoot worker
(app/workers/chatwoot.py) and document ingestion (app/workers/ingestion.py).

  {STREAM}              the jobs (a consumer group: each job is taken by one worker of one process)
  {RETRY}               zset of failed jobs -> due time (exponential backoff; survives restarts)
  {DEAD}                list of jobs that failed MAX_ATTEMPTS times, or failed in a way a retry cannot fix
  {ALIVE}{consumer}     set every HEARTBEAT_S while that worker runs: a killed worker's jobs are taken over
                        within ALIVE_TTL_S, a stopped one's at once
  {HOLD}…, …:queue      optional ordering: while one job of a sequence waits for its retry, the sequence's
                        later jobs wait behind it (hold_key)

Each process runs `lanes` job threads fed by one reader. A job goes to the lane its sequence hashes to
(lane_key: the conversation for Chatwoot, the company for ingestion), so one sequence's jobs run one after
the other, in stream order, while other sequences run alongside: a slow conversation or Chatwoot post does
not hold up the others.

A handled job leaves the stream at once (acknowledged and deleted): payloads may hold customers' words.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
import zlib
from collections import Counter

import redis

log = logging.getLogger("misybot.jobs")
CLAIM_IDLE_MS = 15 * 60 * 1000        # a safety net far longer than any job, so no job runs twice
Q = ":queue"                          # + on a hold key: the sequence's jobs waiting behind it, in order
HOLD_TTL_S = 3600                     # longer than all of a job's retries (MAX_ATTEMPTS with backoff)
HEARTBEAT_S = 2.0
ALIVE_TTL_S = 6
LANE_DEPTH = 16                       # jobs waiting per lane before the reader stops reading (backpressure)


class StreamWorker:
    NAME = "jobs"
    STREAM = GROUP = RETRY = DEAD = ALIVE = ""      # set by each kind of worker
    MAX_ATTEMPTS = 8
    TRANSIENT: tuple[type[Exception], ...] = (redis.exceptions.RedisError, OSError)

    def __init__(self, platform, consumer: str = "w1", lanes: int = 1):
        self.platform = platform
        self.consumer = consumer
        self.lanes = max(1, lanes)
        self.failures: Counter[str] = Counter()      # unexpected errors by type, for /health and metrics
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._queues: list[queue.Queue] = []
        self._inflight: set[str] = set()              # read and handed to a lane, not yet handled
        self._inflight_lock = threading.Lock()
        self._next_takeover = 0.0
        self.ensure_group()

    def ensure_group(self) -> None:
        """The stream's consumer group; made again when Redis came back without it (restarted empty)."""
        try:
            self.platform.redis.xgroup_create(self.STREAM, self.GROUP, id="0", mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _recover(self, fn) -> None:
        try:
            fn()
        except redis.exceptions.RedisError as exc:
            log.error("%s worker cannot recover yet: %s", self.NAME, type(exc).__name__)
            self._stop.wait(2)

    # -- liveness: a dead worker's unfinished jobs are taken over within seconds ---------------------
    def _alive_key(self, consumer: str | None = None) -> str:
        return f"{self.ALIVE}{consumer or self.consumer}"

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self.platform.redis.set(self._alive_key(), 1, ex=ALIVE_TTL_S)
            except redis.exceptions.RedisError:
                pass                 # the job loop reports Redis being down

    def take_over_dead_consumers(self) -> int:
        """Claim the pending jobs of consumers whose heartbeat stopped (a process killed or stopped mid-job),
        instead of waiting for CLAIM_IDLE_MS. A live consumer refreshes its key every HEARTBEAT_S, so its
        jobs are never taken while it works on them."""
        r, taken = self.platform.redis, 0
        for info in r.xinfo_consumers(self.STREAM, self.GROUP):
            name = info["name"]
            if name == self.consumer or r.exists(self._alive_key(name)):
                continue
            if info["pending"]:
                ids = [p["message_id"] for p in r.xpending_range(self.STREAM, self.GROUP, "-", "+", 100, consumername=name)]
                taken += len(r.xclaim(self.STREAM, self.GROUP, self.consumer, 0, ids, justid=True)) if ids else 0
            else:
                r.xgroup_delconsumer(self.STREAM, self.GROUP, name)
        return taken

    def start(self) -> None:
        self.platform.redis.set(self._alive_key(), 1, ex=ALIVE_TTL_S)
        self._queues = [queue.Queue(LANE_DEPTH) for _ in range(self.lanes)]
        self._threads = [threading.Thread(target=self._loop, name=f"{self.NAME}-reader", daemon=True)]
        self._threads += [threading.Thread(target=self._lane, args=(q,), name=f"{self.NAME}-lane-{i}", daemon=True)
                          for i, q in enumerate(self._queues)]
        for t in self._threads:
            t.start()
        threading.Thread(target=self._beat, name=f"{self.NAME}-heartbeat", daemon=True).start()

    def stop(self) -> None:
        """Graceful stop (SIGTERM): each lane finishes the job in hand if it ends soon, then we say we are
        gone, so another process takes over what is left (read but not started included) at once."""
        self._stop.set()
        deadline = time.monotonic() + 5
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        try:
            self.platform.redis.delete(self._alive_key())
        except redis.exceptions.RedisError:
            pass

    def _loop(self) -> None:
        """The reader: hands what it reads to the lanes."""
        while not self._stop.is_set():
            try:
                for entry_id, fields in self._read(block_ms=1000, count=LANE_DEPTH):
                    self._dispatch(entry_id, fields)
            except redis.exceptions.RedisError as exc:
                if self._stop.is_set():
                    return           # the stores closed at shutdown
                if isinstance(exc, redis.exceptions.ResponseError) and ("NOGROUP" in str(exc)
                                                                       or "no such key" in str(exc)):
                    # Redis came back empty (restarted without its data): the group is made again at once,
                    # instead of failing every poll until the service restarts.
                    log.error("%s stream lost its consumer group: recreating it", self.NAME)
                    self._recover(self.ensure_group)
                    continue
                log.error("%s worker cannot reach Redis: %s", self.NAME, type(exc).__name__)
                self._stop.wait(2)   # the service recovers by itself once Redis is back
            except Exception:        # a bug must not kill the thread: log it once, count it, go on
                if self._stop.is_set():
                    return
                log.exception("%s worker loop error", self.NAME)
                self.failures["loop"] += 1
                self._stop.wait(2)

    _MOVE = """
    if redis.call('zrem', KEYS[1], ARGV[1]) == 1 then
      local job = cjson.decode(ARGV[1])
      redis.call('xadd', KEYS[2], '*', 'company_id', job['company_id'], 'payload', job['payload'],
                 'attempt', tostring(job['attempt']), 'head', tostring(job['head'] or ''))
      return 1
    end
    return 0"""

    def _requeue_due(self) -> None:
        """Move due retries back to the stream; remove-and-add is one Lua step, so a crash loses nothing
        and two workers never both take the same retry."""
        r = self.platform.redis
        move = r.register_script(self._MOVE)
        for raw in r.zrangebyscore(self.RETRY, "-inf", time.time(), start=0, num=100):
            move(keys=[self.RETRY, self.STREAM], args=[raw])

    def run_once(self, block_ms: int = 0, count: int = 32) -> int:
        """Process what is queued (and anything a crashed worker left unacknowledged) in this thread, one
        job after the other. Returns jobs done. (start() runs the same jobs on the reader and lanes.)"""
        done = 0
        for entry_id, fields in self._read(block_ms, count):
            self._handle(entry_id, fields)
            done += 1
        return done

    def _read(self, block_ms: int, count: int) -> list[tuple[str, dict]]:
        """The next jobs for this consumer, not already handed to a lane; empty deleted entries are acked."""
        r = self.platform.redis
        self._requeue_due()
        if time.monotonic() >= self._next_takeover:
            self._next_takeover = time.monotonic() + HEARTBEAT_S
            self.take_over_dead_consumers()
        with self._inflight_lock:
            busy = set(self._inflight)
        # Our own pending jobs first: those taken over from a dead consumer, or read before a failure, and (a
        # safety net) any left unacknowledged for CLAIM_IDLE_MS by a consumer that still looks alive.
        own = r.xreadgroup(self.GROUP, self.consumer, {self.STREAM: "0"}, count=count + len(busy))
        entries = [e for e in (own[0][1] if own else []) if e[0] not in busy]
        if not entries:
            _, claimed, *_ = r.xautoclaim(self.STREAM, self.GROUP, self.consumer, min_idle_time=CLAIM_IDLE_MS,
                                          start_id="0-0", count=count)
            entries = [e for e in claimed if e[0] not in busy]
        if not entries:
            new = r.xreadgroup(self.GROUP, self.consumer, {self.STREAM: ">"}, count=count, block=block_ms or None)
            entries = new[0][1] if new else []
        jobs = []
        for entry_id, fields in entries:
            if not fields:               # deleted while pending (a handled job's ack and delete raced a crash)
                r.xack(self.STREAM, self.GROUP, entry_id)
            else:
                jobs.append((entry_id, fields))
        return jobs

    def lane_key(self, fields: dict) -> str | None:
        """What a job's lane is chosen by: jobs with the same key run one after the other, in order."""
        return self.hold_key(fields)

    def _dispatch(self, entry_id: str, fields: dict) -> None:
        key = self.lane_key(fields) or entry_id
        lane = self._queues[zlib.crc32(key.encode()) % len(self._queues)]
        with self._inflight_lock:
            self._inflight.add(entry_id)
        while not self._stop.is_set():
            try:
                lane.put((entry_id, fields), timeout=0.5)    # a full lane holds the reader back
                return
            except queue.Full:
                continue
        with self._inflight_lock:        # stopping: left pending for whoever takes over
            self._inflight.discard(entry_id)

    def _lane(self, jobs: queue.Queue) -> None:
        while not self._stop.is_set():
            try:
                entry_id, fields = jobs.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                self._handle(entry_id, fields)
            except redis.exceptions.RedisError as exc:      # left pending: the reader offers it again
                if self._stop.is_set():
                    return
                log.error("%s job cannot reach Redis: %s", self.NAME, type(exc).__name__)
                self._stop.wait(2)
            except Exception:            # a bug must not kill the lane: log it once, count it, go on
                log.exception("%s lane error", self.NAME)
                self.failures["lane"] += 1
            finally:
                with self._inflight_lock:
                    self._inflight.discard(entry_id)

    def _handle(self, entry_id: str, fields: dict) -> None:
        r = self.platform.redis
        hold = self.hold_key(fields)
        if hold and not fields.get("head") and (r.exists(hold) or r.llen(hold + Q)):
            # An earlier job of this conversation is waiting for a retry: this one waits behind it, so the
            # customer's replies arrive in the order they wrote. (A queue whose hold expired is run now.)
            r.rpush(hold + Q, json.dumps(fields))
            if not r.exists(hold):
                self._drain(hold)
        elif self._run_job(fields) == "retry" and hold:
            r.set(hold, 1, ex=HOLD_TTL_S)            # the conversation waits for this job's retry
        elif hold:
            if fields.get("head"):
                r.delete(hold)
            self._drain(hold)
        # A handled job leaves the stream at once: the payload holds the customer's message and contact,
        # which must not outlive its use in a shared, platform-wide key.
        pipe = r.pipeline(transaction=True)
        pipe.xack(self.STREAM, self.GROUP, entry_id)
        pipe.xdel(self.STREAM, entry_id)
        pipe.execute()

    def _run_job(self, fields: dict) -> str:
        """"ok", "retry" or "dead"."""
        company_id = fields["company_id"]
        attempts = int(fields.get("attempt", 0)) + 1
        try:
            self.process(company_id, json.loads(fields["payload"]))
            outcome, error = "ok", None
        except self.TRANSIENT as exc:             # retry with backoff, never lose the job
            outcome, error = self._retry_or_bury(fields, exc), exc
        except Exception as exc:             # a bug: retrying would repeat it; keep the job for a person
            log.exception("%s job failed unexpectedly", self.NAME, extra={"company_id": company_id})
            self.failures[type(exc).__name__] += 1
            self.platform.redis.rpush(self.DEAD, json.dumps({**fields, "error": type(exc).__name__}))
            outcome, error = "dead", exc
        self._event(company_id, outcome, attempts, error)
        return outcome

    def _drain(self, hold: str) -> None:
        """The jobs that waited behind a retried one, in order, until one of them fails in turn (then it
        becomes the one the others wait for)."""
        r = self.platform.redis
        while raw := r.lpop(hold + Q):
            if self._run_job(json.loads(raw)) == "retry":
                r.set(hold, 1, ex=HOLD_TTL_S)
                return

    def _event(self, company_id: str, outcome: str, attempts: int, exc: Exception | None) -> None:
        """Every job's outcome, for the audit trail and metrics (subclasses name the event)."""

    def company(self, company_id: str):
        """The company's config, or None when it is gone. A company this process does not know yet may have been
        onboarded through another process a moment ago: follow the published config once before giving up."""
        config = self.platform.registry.get(company_id)
        if config is None:
            self.platform.sync_config(force=True)
            config = self.platform.registry.get(company_id)
        return config

    def hold_key(self, fields: dict) -> str | None:
        """The ordered sequence a job belongs to (its jobs must not overtake each other), or None."""
        return None

    def process(self, company_id: str, payload: dict) -> None:
        raise NotImplementedError

    def _retry_or_bury(self, fields: dict, exc: Exception) -> str:
        """"retry" or "dead"."""
        r = self.platform.redis
        attempt = int(fields.get("attempt", 0)) + 1
        job = {**fields, "attempt": attempt, "head": 1}       # its conversation's other jobs wait for it
        if getattr(exc, "retryable", True) and attempt < self.MAX_ATTEMPTS:
            r.zadd(self.RETRY, {json.dumps(job): time.time() + min(2 ** attempt, 300)})
            log.warning("%s job failed, will retry: %s", self.NAME, type(exc).__name__,
                        extra={"company_id": fields.get("company_id"), "attempt": attempt})
            return "retry"
        r.rpush(self.DEAD, json.dumps({**job, "error": type(exc).__name__}))
        log.error("%s job gave up: %s", self.NAME, type(exc).__name__, extra={"company_id": fields.get("company_id")})
        return "dead"

