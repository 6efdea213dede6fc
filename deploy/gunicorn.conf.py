"""gunicorn settings for Misybot (Dockerfile: `gunicorn -c deploy/gunicorn.conf.py "app.factory:create_app()"`).

Several workers are one system only on shared stores: with REDIS_URL and QDRANT_URL set, locks, rate limits,
quotas, config versions and job streams live in Redis and every worker sees the same ones
(tests/test_multiprocess.py runs two workers and checks each of them). On the embedded stores run one worker:
the embedded Qdrant admits one process, and the embedded Redis lives inside the worker that started it.
`on_starting` below refuses several workers on embedded stores instead of letting the second one crash.

No `preload_app`: create_app() starts background threads (Chatwoot, ingestion, meta and audit workers) and opens
Redis and Qdrant connections, and threads do not survive a fork; each worker must build its own app, and its
Chatwoot and ingestion consumers are named after its own pid (app/factory.py). What the master does load is the
code, and one piece of pure data: importing app.factory here (before the fork) takes tens of seconds of CPU that
every worker would otherwise repeat, and the forked workers share those pages; the intent classifier is trained
here too (scikit-learn arrays, seconds of CPU that each worker otherwise spends in its first chat turn, holding
that conversation's lock). Neither creates a thread, connection or torch state (the embedder and the spaCy models
are loaded by create_app, in the worker). MISYBOT_PRELOAD_CODE=0 turns both off.

Prometheus counters under several workers: each worker writes its numbers to PROMETHEUS_MULTIPROC_DIR and /metrics
adds them up (app/audit/metrics.py). prometheus-client chooses its mode when first imported, so the directory is
set here, before anything imports it, when the environment does not name one; `on_starting` empties it and
`child_exit` retires an exited worker's files.
"""
import atexit
import os
import sys
import tempfile
import time
from pathlib import Path

# Before the first import of prometheus_client (the imports below load it): a fresh directory per start.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="misybot-metrics-"))
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from app.audit.metrics import gunicorn_child_exit as child_exit  # noqa: E402,F401
from app.audit.metrics import gunicorn_on_starting as _empty_metrics_dir  # noqa: E402

if os.environ.get("MISYBOT_PRELOAD_CODE", "1") != "0":
    import app.factory  # noqa: E402,F401  (code only: the app itself is built in each worker)
    from graphs.tenant import emergency_model
    from graphs.tenant.router import classifier

    classifier()          # the intent classifier: arrays trained once here, not at each worker's first chat turn
    # the learned second opinion on emergencies, likewise; a restart of the same release loads it from DATA_DIR
    emergency_model.model(Path(os.environ.get("DATA_DIR", "data")) / "models")

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Each open widget page holds one thread with its event stream (README, "Put it on your website").
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
worker_class = "gthread"
preload_app = False
timeout = 120
# gunicorn's control socket (gunicornc) defaults to one path per user ($XDG_RUNTIME_DIR or ~/.gunicorn): two
# instances on a host would take each other's, and the image's home is not writable. Only where asked for.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"


def on_starting(server) -> None:
    """Refuse several workers on embedded stores (each would open its own), then empty the metrics directory."""
    if server.cfg.workers > 1 and not (os.environ.get("REDIS_URL") and os.environ.get("QDRANT_URL")):
        missing = [v for v in ("REDIS_URL", "QDRANT_URL") if not os.environ.get(v)]
        raise SystemExit(f"misybot: {server.cfg.workers} gunicorn workers need shared stores, and "
                         f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: the embedded "
                         "Qdrant admits one process and the embedded Redis lives in the worker that started it. "
                         "Set them, or run one worker (WEB_CONCURRENCY=1).")
    _empty_metrics_dir(server)


def worker_exit(server, worker) -> None:
    """A worker stopping (SIGTERM at a deploy): its background workers finish the job in hand and give up
    their Chatwoot consumer, so another process takes over its unfinished jobs at once.

    Then, on a clean stop, the worker leaves without the interpreter's teardown: freeing torch, transformers and
    spaCy took 6 s in a plain process and 13-20 s per worker under gunicorn on a busy 2-core host (measured,
    issue 17), longer than Docker's 10 s stop timeout, with nothing of ours left to do. What Python runs at exit
    (atexit: log handlers, the tracing exporter's flush) still runs first. A failed boot keeps its exit code."""
    app = getattr(worker, "wsgi", None)
    platform = getattr(app, "extensions", {}).get("misybot") if app is not None else None
    if platform is None:
        return
    started = time.monotonic()
    platform.close()
    server.log.info("worker %s: background workers and stores closed in %.1f s", worker.pid,
                    time.monotonic() - started)
    leaving = sys.exc_info()[1]            # the SystemExit gunicorn is raising in the worker (arbiter.spawn_worker)
    if os.getpid() == worker.pid and isinstance(leaving, SystemExit) and leaving.code in (0, None):
        _leave_now()


def on_exit(server) -> None:
    """The master after a normal stop (SIGTERM, SIGINT, SIGQUIT: gunicorn halts on StopIteration) leaves without
    tearing down the code it imported above (5 s measured); after a failure it exits as gunicorn decides."""
    if isinstance(sys.exc_info()[1], (StopIteration, KeyboardInterrupt)):
        _leave_now()


def _leave_now() -> None:
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
