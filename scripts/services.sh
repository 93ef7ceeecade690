#!/usr/bin/env bash
# Run web (gunicorn) + Celery worker + Celery beat in the foreground against the local Redis and
# database, without Docker. Ctrl-C stops all three.
#   REDIS_URL=redis://127.0.0.1:6379/0 DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres make services
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"

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
