# One image for web, worker and beat (the command differs per service in docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MODEL_DIR=/data/models

WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# Static files with hashed names and pre-compressed copies (WhiteNoise). DEBUG is off, as at run
# time; the key only satisfies the settings during the build and signs nothing.
RUN DJANGO_SECRET_KEY=build-only-$(date +%s%N) python manage.py collectstatic --noinput \
    && useradd --create-home --uid 1000 app && mkdir -p /data/models && chown -R app /data /app
USER app
EXPOSE 8000
CMD ["gunicorn", "recsite.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
