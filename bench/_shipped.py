"""What the benches that run the app in-process share: the shipped companies with their request rate limits
lifted (a bench sends hundreds of requests a minute), and a percentile."""
from __future__ import annotations

import re
from pathlib import Path

from app.factory import create_app
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def shipped_app(tmp: Path, redis_url: str, config_edit=lambda text: text, **settings):
    """The app on the shipped companies (seeded), the given Redis, embedded Qdrant under tmp, offline
    models and no background workers unless `settings` says otherwise."""
    text = (ROOT / "companies_config.yaml").read_text(encoding="utf-8")
    text = re.sub(r"requests_per_minute: \d+, requests_per_hour: \d+",
                  "requests_per_minute: 100000, requests_per_hour: 1000000", text)
    config = tmp / "companies_config.yaml"
    config.write_text(config_edit(text), encoding="utf-8")
    values = dict(data_dir=tmp, companies_config_file=config, tenants_dir=ROOT / "tenants", redis_url=redis_url,
                  qdrant_url=None, seed_tenant_documents=True, environment="test", openai_api_key=None,
                  openai_base_url=None, embeddings_model=None, chatwoot_worker=False, meta_worker=False,
                  booking_webhook_worker=False, ingestion_worker=False)
    return create_app(Settings(**{**values, **settings}))


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]
