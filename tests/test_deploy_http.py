"""What the site sends over HTTP: Content-Security-Policy, no inline script or style, compression,
the API docs under the policy, branded 404 and 500 pages."""

from __future__ import annotations

import gzip
import json
import re
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import include, path
from django.utils import timezone

from recommender.models import ModelVersion, Recommendation
from videos.models import Category, Video, WatchEvent

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE)
JSON_SCRIPT = re.compile(r'<script[^>]*type="application/json"[^>]*>', re.IGNORECASE)


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_no_inline_code(html: str) -> None:
    # JSON data blocks (json_script) are not executed, so the policy does not concern them.
    scripts = [tag for tag in INLINE_SCRIPT.findall(html) if not JSON_SCRIPT.match(tag)]
    assert scripts == []
    assert not STYLE_ELEMENT.search(html)
    assert not STYLE_ATTRIBUTE.search(html), STYLE_ATTRIBUTE.search(html)
    assert not EVENT_HANDLER.search(html)


@pytest.fixture
def site(make_user):
    """A viewer with history and published recommendations (every bar and thumbnail on the pages)."""
    viewer = make_user("viewer")
    travel = Category.objects.create(name="Travel")
    videos = [
        Video.objects.create(
            title=f"Trip {i}", category=travel, duration_seconds=90, media_url="https://media.example/v.mp4"
        )
        for i in range(4)
    ]
    WatchEvent.objects.create(user=viewer, video=videos[0], completion=0.4)
    WatchEvent.objects.create(user=viewer, video=videos[1], completion=0.95)
    version = ModelVersion.objects.create(
        objective="completion",
        status=ModelVersion.Status.ACTIVE,
        finished_at=timezone.now(),
        activated_at=timezone.now(),
    )
    for rank, video in enumerate(videos[2:], start=1):
        Recommendation.objects.create(version=version, user=viewer, video=video, score=0.8 - rank / 10, rank=rank)
    return viewer, videos


@pytest.mark.django_db
def test_pages_send_a_strict_content_security_policy(client):
    response = client.get("/")
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_site_pages_have_no_inline_script_or_style(client, site):
    viewer, videos = site
    anonymous = ["/", "/videos/", "/accounts/login/", "/accounts/signup/", "/this/page/does/not/exist/"]
    for url in anonymous:
        assert_no_inline_code(client.get(url).content.decode())
    client.force_login(viewer)
    for url in ["/", "/videos/", "/history/", "/recommended/", f"/videos/{videos[0].pk}/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert_no_inline_code(html)
    # The classes that replaced the inline widths and colours are there.
    assert re.search(r'class="pct-\d+"', client.get("/history/").content.decode())
    assert re.search(r'class="thumb hue-\d+', client.get("/videos/").content.decode())


def test_scales_stylesheet_covers_every_percentage_and_hue():
    from django.contrib.staticfiles import finders

    css = open(finders.find("css/scales.css")).read()
    for n in range(101):
        assert f".pct-{n} {{ width: {n}%; }}" in css
    for n in range(360):
        assert f".hue-{n} {{ --hue: {n}; }}" in css


@pytest.mark.django_db
def test_admin_pages_have_no_inline_script(admin_client):
    for url in ["/admin/", "/admin/django_celery_beat/periodictask/add/", "/admin/auth/user/add/"]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        scripts = [tag for tag in INLINE_SCRIPT.findall(html) if not JSON_SCRIPT.match(tag)]
        assert scripts == [], url
    html = admin_client.get("/admin/django_celery_beat/periodictask/add/").content.decode()
    assert "js/periodic-task-form.js" in html
    assert 'id="crontab-help-text"' in html


@pytest.mark.django_db
def test_swagger_ui_runs_without_inline_script(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert_no_inline_code(html)
    assert "/api/docs/?script=" in html
    directives = policy(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "data:"]

    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()


@pytest.mark.django_db
def test_redoc_runs_without_inline_script_or_font_cdn(client):
    response = client.get("/api/redoc/")
    assert response.status_code == 200
    html = response.content.decode()
    assert_no_inline_code(html)
    assert "googleapis" not in html and "gstatic" not in html
    assert "css/redoc.css" in html and "js/redoc-init.js" in html
    assert 'data-spec-url="/api/schema/"' in html
    # ReDoc inserts <style> elements at run time: its page alone allows inline styles.
    directives = policy(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'", "'unsafe-inline'"]
    assert directives["worker-src"] == ["blob:"]

    # The bundle loads when the reader opens ReDoc (static/js/api-console.js), not with the page.
    assert '<script src="/api/redoc/' not in html
    bundle_url = re.search(r'data-scripts="(/api/redoc/redoc\.standalone\.js\?v=[0-9a-f]{12}) ', html).group(1)
    bundle = client.get(bundle_url)
    assert bundle.status_code == 200
    assert bundle["Content-Type"].startswith("text/javascript")
    assert "immutable" in bundle["Cache-Control"]
    body = bundle.content
    assert b"cdn.redoc.ly" not in body
    assert b"/static/img/redoc-logo.svg" in body
    assert b"Redoc" in body


def test_redoc_fonts_are_served_from_static_files():
    from django.contrib.staticfiles import finders

    css = open(finders.find("css/redoc.css")).read()
    fonts = re.findall(r'url\("\.\./fonts/([^"]+)"\)', css)
    assert len(fonts) == 6
    for font in fonts:
        path_ = finders.find(f"fonts/{font}")
        assert path_, font
        assert open(path_, "rb").read(4) == b"wOF2"
    assert finders.find("fonts/LICENSE-roboto.txt") and finders.find("fonts/LICENSE-montserrat.txt")


@pytest.mark.django_db
def test_pages_and_api_json_are_compressed(client, site):
    viewer, _videos = site
    client.force_login(viewer)
    for url in ["/", "/api/schema/", "/api/videos/"]:
        plain = client.get(url)
        packed = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
        assert plain.status_code == packed.status_code == 200, url
        assert "Content-Encoding" not in plain
        assert packed["Content-Encoding"] == "gzip", url
        assert "Accept-Encoding" in packed["Vary"]
        body = gzip.decompress(packed.content)
        # Pages differ between two requests only in their CSRF token (same length).
        assert len(body) == len(plain.content), url
        assert len(packed.content) < len(plain.content), url
    assert json.loads(body)["count"] == 4


@pytest.mark.django_db
def test_404_page_is_branded(client, settings):
    settings.DEBUG = False  # with DEBUG, Django shows its technical 404 page instead
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert "Video Recommender" in html
    assert 'href="/"' in html
    assert "Content-Security-Policy" in response.headers


def raise_database_error(request: HttpRequest):
    raise OperationalError("database unavailable")


urlpatterns = [path("boom/", raise_database_error), path("", include("recsite.urls"))]


@pytest.mark.django_db
def test_500_page_renders_while_the_database_is_down(client, settings):
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    client.raise_request_exception = False
    with mock.patch.object(connection, "cursor", side_effect=OperationalError("database unavailable")):
        response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong" in html
    assert "Video Recommender" in html
    assert "database unavailable" not in html
    assert_no_inline_code(html)


def test_500_template_needs_no_request_or_database():
    # No database fixture: a query would raise. No request: context processors do not run.
    html = render_to_string("500.html")
    assert "Something went wrong" in html
    assert "css/site.css" in html
