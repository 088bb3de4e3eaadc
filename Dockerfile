# The production image: one image runs the API, the worker or the migrations.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md alembic.ini ./
COPY workflows workflows
COPY activities activities
COPY api api
COPY domain domain
COPY workers workers
COPY migrations migrations
COPY templates templates
COPY static static
RUN pip install -e . && useradd --system --home /app plantops
USER plantops

EXPOSE 8000
CMD ["plantops", "api"]
