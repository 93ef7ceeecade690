#!/usr/bin/env bash
# Run web (gunicorn) + Celery worker + Celery beat in the foreground against the local Redis and
# database, without Docker. Ctrl-C stops all three.
#   REDIS_URL=redis://127.0.0.1:6379/0 DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres make services
# Production settings (DEBUG off) on plain HTTP on this machine: the HTTPS redirect and HTTPS-only
# cookies are turned off explicitly, and a secret key is generated once into var/secret-key unless
# DJANGO_SECRET_KEY is set (here or in .env). Behind a TLS proxy, drop the two overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
export DJANGO_SECURE_SSL_REDIRECT="${DJANGO_SECURE_SSL_REDIRECT:-false}"
export DJANGO_SECURE_COOKIES="${DJANGO_SECURE_COOKIES:-false}"
if [ -z "${DJANGO_SECRET_KEY:-}" ] && ! grep -qs '^DJANGO_SECRET_KEY=' .env; then
  VAR_DIR="${VAR_DIR:-var}"
  if [ ! -s "$VAR_DIR/secret-key" ]; then
    mkdir -p "$VAR_DIR"
    (umask 077 && "$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(50))' > "$VAR_DIR/secret-key")
  fi
  DJANGO_SECRET_KEY="$(cat "$VAR_DIR/secret-key")"
  export DJANGO_SECRET_KEY
fi

"$BIN/python" manage.py migrate --noinput
"$BIN/python" manage.py collectstatic --noinput --verbosity 0

pids=()
cleanup() {
  trap - INT TERM EXIT
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

"$BIN/gunicorn" recsite.wsgi:application --bind "$HOST:$PORT" --workers "${WEB_WORKERS:-2}" --access-logfile - &
pids+=($!)
"$BIN/celery" -A recsite worker --queues default,training --concurrency 1 --loglevel INFO --hostname "worker@%h" &
pids+=($!)
"$BIN/celery" -A recsite beat --loglevel INFO --scheduler django_celery_beat.schedulers:DatabaseScheduler \
  --pidfile "${TMPDIR:-/tmp}/recommender-celerybeat.pid" &
pids+=($!)

echo "web http://$HOST:$PORT/ · worker · beat (broker $REDIS_URL) — Ctrl-C stops all"
wait -n "${pids[@]}"
