"""gunicorn settings for Misybot (Dockerfile: `gunicorn -c deploy/gunicorn.conf.py "app.factory:create_app()"`).

Prometheus counters under several workers: each worker writes its numbers to PROMETHEUS_MULTIPROC_DIR and /metrics
adds them up (app/audit/metrics.py). The directory must be set in the environment before gunicorn starts; these hooks
empty it at start and retire a worker's live gauges when it exits.
"""
import os

from app.audit.metrics import gunicorn_child_exit as child_exit  # noqa: F401
from app.audit.metrics import gunicorn_on_starting as on_starting  # noqa: F401

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Each open widget page holds one thread with its event stream (README, "Put it on your website").
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
timeout = 120
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"


def worker_exit(server, worker) -> None:
    """A worker stopping (SIGTERM at a deploy): its background workers finish the job in hand and give up
    their Chatwoot consumer, so another process takes over its unfinished jobs at once."""
    app = getattr(worker, "wsgi", None)
    platform = getattr(app, "extensions", {}).get("misybot") if app is not None else None
    if platform is not None:
        platform.close()
