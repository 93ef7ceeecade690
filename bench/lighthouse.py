#!/usr/bin/env python
"""Lighthouse scores of the site's pages: performance, accessibility, best practices and SEO.

1. Serves the site as in production on loopback: a throwaway SQLite database (or ``--database-url``)
   with the demo data (``seed_demo``) and a small trained model, DEBUG off, static files collected
   and served by WhiteNoise, gunicorn. Plain HTTP on 127.0.0.1 (Lighthouse counts loopback as secure).
2. Runs Lighthouse (npm package ``lighthouse``, installed on first use into ``var/lighthouse/``,
   which git ignores) with Debian's Chromium (``/usr/bin/chromium``; Lighthouse never downloads a
   browser) on every page, the viewer's pages with the demo viewer's session cookie.
3. Prints one JSON object (and writes it to ``--output``): the four scores of every page, the
   audits that did not pass, the Lighthouse version, the form factor and the machine's load average.

    .venv/bin/python bench/lighthouse.py --output test-output/lighthouse.json

``--base-url URL --session KEY`` scores a site that is already running instead. Lighthouse's
default is a mid-range phone on a throttled network (simulated); ``--preset desktop`` scores desktop.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from common import ROOT, free_port, gunicorn_start, manage, process_stop, server_env

LIGHTHOUSE_VERSION = "12.8.2"
LIGHTHOUSE_DIR = ROOT / "var" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
RETRIES = 2
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")

# (name, path, logged in); "{video}" and "{no_media}" are filled in from the demo catalog.
PAGES = (
    ("home", "/", False),
    ("home (logged in)", "/", True),
    ("catalog", "/videos/", False),
    ("video page", "{video}", True),
    ("video page, no file", "{no_media}", True),
    ("recommended", "/recommended/", True),
    ("history", "/history/", True),
    ("login", "/accounts/login/", False),
    ("api docs (Swagger UI)", "/api/docs/", False),
    ("api reference (ReDoc)", "/api/redoc/", False),
)

# Run with `manage.py shell -c`: the demo viewer's session, the demo clip's page and one without a file.
_FIXTURE_SCRIPT = """
import json
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from videos.demo import CLIP_TITLE, DEMO_USERNAME
from videos.models import Video

client = Client()
client.force_login(get_user_model().objects.get(username=DEMO_USERNAME))
print(json.dumps({
    "cookie": settings.SESSION_COOKIE_NAME,
    "session": client.cookies[settings.SESSION_COOKIE_NAME].value,
    "video": Video.objects.get(title=CLIP_TITLE).get_absolute_url(),
    "no_media": Video.objects.filter(media_url="").order_by("pk").first().get_absolute_url(),
}))
"""


def lighthouse_binary() -> Path:
    """Lighthouse from ``LIGHTHOUSE`` or ``var/lighthouse``; installed there from npm when missing."""
    if os.environ.get("LIGHTHOUSE"):
        return Path(os.environ["LIGHTHOUSE"])
    binary = LIGHTHOUSE_DIR / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        if shutil.which("npm") is None:
            raise SystemExit("npm not found: install Node.js (Debian: apt-get install nodejs npm)")
        LIGHTHOUSE_DIR.mkdir(parents=True, exist_ok=True)
        package = f"lighthouse@{LIGHTHOUSE_VERSION}"
        print(f"installing {package} into {LIGHTHOUSE_DIR} ...", file=sys.stderr)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(LIGHTHOUSE_DIR), package],
            check=True,
            # Puppeteer is not among Lighthouse's dependencies; this keeps any browser download off.
            env={**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"},
        )
    return binary


def score_page(binary: Path, url: str, headers: dict[str, str], preset: str, report_dir: Path, name: str) -> dict:
    """Run Lighthouse on ``url`` (a failed trace is retried): the four scores (0-100) and the audits
    that did not pass."""
    report = report_dir / (name.replace(" ", "-").replace("(", "").replace(")", "").replace(",", "") + ".json")
    command = [
        str(binary),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={report}",
        f"--only-categories={','.join(CATEGORIES)}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage",
        "--max-wait-for-load=60000",
    ]
    if preset == "desktop":
        command.append("--preset=desktop")
    if headers:
        command.append(f"--extra-headers={json.dumps(headers)}")
    # Lighthouse sometimes fails to record the trace ("Please run Lighthouse again."): up to 3 tries.
    for attempt in range(1, RETRIES + 2):
        report.unlink(missing_ok=True)
        completed = subprocess.run(
            command, env={**os.environ, "CHROME_PATH": CHROMIUM}, capture_output=True, text=True, timeout=300
        )
        failure = (completed.stderr or completed.stdout)[-2000:]
        if completed.returncode == 0 and report.exists():
            break
        if "run Lighthouse again" not in failure or attempt > RETRIES:
            return {"error": failure, "attempts": attempt}
    data = json.loads(report.read_text())
    scores = {c: round((data["categories"][c]["score"] or 0) * 100) for c in CATEGORIES}
    failed = sorted(
        f"{category}: {audit_id}"
        for category in CATEGORIES
        for ref in data["categories"][category]["auditRefs"]
        if ref["weight"] > 0
        for audit_id in [ref["id"]]
        if (data["audits"][audit_id].get("score") is not None and data["audits"][audit_id]["score"] < 0.9)
    )
    metrics = data["audits"]
    return {
        **scores,
        "fcp_ms": round(metrics["first-contentful-paint"].get("numericValue") or 0),
        "lcp_ms": round(metrics["largest-contentful-paint"].get("numericValue") or 0),
        "cls": round(metrics["cumulative-layout-shift"].get("numericValue") or 0, 3),
        "tbt_ms": round(metrics["total-blocking-time"].get("numericValue") or 0),
        "not_passed": failed,
        "warnings": data.get("runWarnings", []),
        "url": data.get("finalDisplayedUrl") or url,
        "attempts": attempt,
    }


def wait_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"the site did not answer within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", help="Score this running site instead of starting one (needs --session).")
    parser.add_argument("--session", help="With --base-url: a session id of the viewer for the logged-in pages.")
    parser.add_argument("--video", default="/videos/1/", help="With --base-url: a video page with a file.")
    parser.add_argument("--no-media", default="/videos/2/", help="With --base-url: a video page without a file.")
    parser.add_argument("--database-url", help="Database of the served site (default: SQLite in a temporary folder).")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default: %(default)s).")
    parser.add_argument("--preset", choices=["mobile", "desktop"], default="mobile", help="Lighthouse form factor.")
    parser.add_argument("--pages", help="Comma-separated page names to score (default: all).")
    parser.add_argument("--language", default="en", help="Accept-Language of the requests (default: %(default)s).")
    parser.add_argument("--output", type=Path, help="Also write the JSON here.")
    parser.add_argument("--reports", type=Path, help="Keep Lighthouse's full JSON reports in this folder.")
    args = parser.parse_args(argv)

    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} not found (Debian: apt-get install chromium)")
    binary = lighthouse_binary()
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    pages = [p for p in PAGES if not args.pages or p[0] in {n.strip() for n in args.pages.split(",")}]

    workdir = Path(tempfile.mkdtemp(prefix="bench-lighthouse-"))
    server = None
    try:
        if args.base_url:
            if not args.session:
                raise SystemExit("--base-url needs --session (a session id of a logged-in viewer)")
            url = args.base_url.rstrip("/")
            fixture = {"cookie": "sessionid", "session": args.session, "video": args.video, "no_media": args.no_media}
            served = {"server": "as given", "url": url}
        else:
            env = server_env(args.database_url or f"sqlite:///{workdir / 'site.sqlite3'}", workdir)
            env["DJANGO_SECURE_COOKIES"] = "false"
            print("migrate + collectstatic + seed_demo + retrain ...", file=sys.stderr, flush=True)
            manage(env, "migrate", "--noinput", "-v", "0")
            manage(env, "collectstatic", "--noinput", "-v", "0", timeout=300)
            manage(env, "seed_demo")
            manage(env, "retrain", "--no-progress", "--epochs", "5", "--embedding-dim", "16")
            out = manage(env, "shell", "-v", "0", "-c", _FIXTURE_SCRIPT, timeout=300, capture=True)
            fixture = json.loads(out.strip().splitlines()[-1])
            port = free_port()
            server = gunicorn_start(env, port, workers=args.workers)
            url = f"http://127.0.0.1:{port}"
            wait_up(url)
            served = {"server": f"gunicorn, {args.workers} sync workers, DEBUG off, WhiteNoise", "database": "sqlite"}
            if args.database_url:
                served["database"] = args.database_url.split(":", 1)[0]

        report_dir = args.reports or workdir / "reports"
        report_dir.mkdir(parents=True, exist_ok=True)
        load_before = os.getloadavg()
        results: dict[str, dict] = {}
        for name, path, logged_in in pages:
            target = url + path.format(video=fixture["video"], no_media=fixture["no_media"])
            headers = {"Accept-Language": args.language}
            if logged_in:
                headers["Cookie"] = f"{fixture['cookie']}={fixture['session']}"
            print(f"lighthouse {name}: {target}", file=sys.stderr, flush=True)
            results[name] = score_page(binary, target, headers, args.preset, report_dir, name)
            print(f"  {json.dumps({k: results[name].get(k) for k in (*CATEGORIES, 'error')})}", file=sys.stderr)
        load_after = os.getloadavg()

        scored = [r for r in results.values() if "error" not in r]
        result = {
            "benchmark": "lighthouse",
            "lighthouse": version,
            "preset": args.preset,
            "language": args.language,
            "site": served,
            "cpu_count": os.cpu_count(),
            "load_average_1m": {"before": round(load_before[0], 2), "after": round(load_after[0], 2)},
            "minimum": {c: min((r[c] for r in scored), default=None) for c in CATEGORIES},
            "pages": results,
        }
        text = json.dumps(result, indent=2, ensure_ascii=False)
        if args.output:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(text + "\n")
        print(text)
        return 0 if scored and len(scored) == len(results) else 1
    finally:
        process_stop(server)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
