"""The production configuration end to end, in a subprocess with DEBUG off: collectstatic, hashed and
pre-compressed static files served by WhiteNoise, HTTPS redirect and HSTS, the proxy header, the
error pages with hashed static URLs."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from test_deploy_settings import ROOT, production_env

PROBE = r"""
import json, re
import django
django.setup()
from django.template.loader import render_to_string
from django.test import Client

out = {}
client = Client(HTTP_HOST="localhost")
plain = client.get("/api/docs/")
out["plain_status"] = plain.status_code
out["plain_location"] = plain.get("Location")
out["healthz_plain"] = client.get("/healthz").status_code

proxied = client.get("/api/docs/", HTTP_X_FORWARDED_PROTO="https")
out["proxied_status"] = proxied.status_code
out["hsts"] = proxied.get("Strict-Transport-Security")
html = proxied.content.decode()
css = re.search(r'data-styles="(/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui\.[0-9a-f]{12}\.css)"', html)
out["hashed_css"] = css.group(1) if css else None
if css:
    static = client.get(css.group(1), HTTP_ACCEPT_ENCODING="gzip", HTTP_X_FORWARDED_PROTO="https")
    out["static_status"] = static.status_code
    out["static_encoding"] = static.get("Content-Encoding")
    out["static_cache"] = static.get("Cache-Control")

missing = client.get("/no/such/page/", HTTP_X_FORWARDED_PROTO="https")
out["404_status"] = missing.status_code
out["404_branded"] = "Page not found" in missing.content.decode()
out["404_hashed_css"] = bool(re.search(r"/static/css/site\.[0-9a-f]{12}\.css", missing.content.decode()))
error = render_to_string("500.html")
out["500_hashed_css"] = bool(re.search(r"/static/css/site\.[0-9a-f]{12}\.css", error))

# Each static URL is looked up in the manifest once per process (recsite.storage; WhiteNoise's
# middleware asks for every file's URL at start, so a fresh storage shows it).
from django.contrib.staticfiles.storage import staticfiles_storage
from recsite.storage import ManifestStaticStorage
out["storage"] = type(staticfiles_storage._wrapped).__name__
fresh = ManifestStaticStorage()
site_css = fresh.url("css/site.css")
out["site_css"] = site_css
def url_or_error(name):
    try:
        return fresh.url(name)
    except ValueError:
        return "ValueError"
out["missing_twice"] = [url_or_error("css/no-such.css"), url_or_error("css/no-such.css")]
fresh.stored_name = lambda name: "changed.css"  # a new manifest lookup would show
out["site_css_again"] = fresh.url("css/site.css")
out["search_svg_after"] = url_or_error("img/search.svg")  # not asked for before
print(json.dumps(out))
"""


def test_production_static_files_https_and_error_pages(tmp_path):
    env = production_env(
        tmp_path, STATIC_ROOT=str(tmp_path / "static"), DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto"
    )
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collected.returncode == 0, collected.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()
    assert list((tmp_path / "static" / "css").glob("site.*.css.gz"))

    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])

    # Plain HTTP is redirected to HTTPS, except the health check; no HSTS over plain HTTP.
    assert out["plain_status"] == 301
    assert out["plain_location"] == "https://localhost/api/docs/"
    assert out["healthz_plain"] == 200
    # The proxy's X-Forwarded-Proto: https counts as HTTPS: the page, with HSTS for a year.
    assert out["proxied_status"] == 200
    assert out["hsts"] == "max-age=31536000"
    # Static files: content-hashed names, pre-compressed, cached for good.
    assert out["hashed_css"], "swagger-ui.css is not served under a hashed name"
    assert out["static_status"] == 200
    assert out["static_encoding"] == "gzip"
    assert "immutable" in out["static_cache"]
    # Error pages use the hashed static files too.
    assert out["404_status"] == 404
    assert out["404_branded"] is True
    assert out["404_hashed_css"] is True
    assert out["500_hashed_css"] is True
    # Static URLs come from the manifest once per process; a missing name raises every time.
    assert out["storage"] == "ManifestStaticStorage"
    assert re.fullmatch(r"/static/css/site\.[0-9a-f]{12}\.css", out["site_css"])
    assert out["missing_twice"] == ["ValueError", "ValueError"]
    assert out["site_css_again"] == out["site_css"]
    assert out["search_svg_after"] == "/static/changed.css"  # not looked up before: from the manifest
