# yibao's API server: `docker build -t yibao .`, then see docs/operations.md for a production start.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# pg_dump/pg_restore for `yibao backup` and `yibao restore` run from the container
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . && rm -rf /app/src

RUN useradd --system --uid 10001 --home-dir /home/yibao --create-home yibao
USER yibao
WORKDIR /home/yibao

# Everything else comes from the environment: YIBAO_DATABASE_URL, YIBAO_CARD_SECRET,
# YIBAO_PIN_PEPPER, YIBAO_TOKEN_SECRET, YIBAO_WORKERS, YIBAO_DB_POOL_SIZE, YIBAO_METRICS
# (loopback by default: set it to `open` for a scraper on the private network), ...
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/api/v1/ready', timeout=4)"
ENTRYPOINT ["yibao", "serve", "--host", "0.0.0.0", "--port", "8000"]
