"""recsite.csp.CSPMiddleware: django-csp's headers, the fixed policy built once per process."""

from __future__ import annotations

import pytest
from csp.constants import NONCE, SELF
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from recsite.csp import CSPMiddleware

HEADER = "Content-Security-Policy"
REPORT_ONLY = "Content-Security-Policy-Report-Only"


def respond(middleware_class, path="/api/recommendations/", *, touch_nonce=False, response=None):
    request = RequestFactory().get(path)
    middleware = middleware_class(lambda request: response if response is not None else HttpResponse("ok"))
    middleware.process_request(request)
    if touch_nonce:
        str(request.csp_nonce)
    return request, middleware.process_response(request, middleware.get_response(request))


def directives(header: str) -> dict[str, list[str]]:
    return {name: sources for name, *sources in (part.split() for part in header.split(";"))}


def test_the_settings_policy_is_django_csps():
    _request, ours = respond(CSPMiddleware)
    _request, theirs = respond(DjangoCSPMiddleware)
    assert directives(ours[HEADER]) == directives(theirs[HEADER])
    assert directives(ours[HEADER])["script-src"] == ["'self'"]
    assert REPORT_ONLY not in ours and REPORT_ONLY not in theirs


def test_the_header_is_built_once_and_again_when_the_setting_changes(monkeypatch):
    import recsite.csp

    calls = []
    real = recsite.csp.build_policy
    monkeypatch.setattr(recsite.csp, "build_policy", lambda **kw: calls.append(kw) or real(**kw))
    middleware = CSPMiddleware(lambda request: HttpResponse("ok"))
    for _ in range(3):
        request = RequestFactory().get("/")
        middleware.process_request(request)
        response = middleware.process_response(request, HttpResponse("ok"))
        assert directives(response[HEADER])["default-src"] == ["'self'"]
    assert len(calls) == 2  # the policy and the (absent) report-only policy, once each
    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": ["'none'"]}}):
        request = RequestFactory().get("/")
        middleware.process_request(request)
        response = middleware.process_response(request, HttpResponse("ok"))
    assert directives(response[HEADER])["default-src"] == ["'none'"]


def test_report_only_and_excluded_prefixes():
    report_only = {"EXCLUDE_URL_PREFIXES": ["/api/"], "DIRECTIVES": {"default-src": [SELF], "img-src": ["data:"]}}
    with override_settings(CONTENT_SECURITY_POLICY_REPORT_ONLY=report_only):
        _request, page = respond(CSPMiddleware, "/videos/")
        _request, api = respond(CSPMiddleware, "/api/recommendations/")
    assert directives(page[REPORT_ONLY])["img-src"] == ["data:"]
    assert HEADER in page and HEADER in api
    assert REPORT_ONLY not in api


def test_a_nonce_or_a_decorated_response_gets_its_own_policy():
    with_nonce = {"DIRECTIVES": {"default-src": [SELF], "script-src": [SELF, NONCE]}}
    with override_settings(CONTENT_SECURITY_POLICY=with_nonce):
        request, response = respond(CSPMiddleware, touch_nonce=True)
        assert f"'nonce-{request._csp_nonce}'" in directives(response[HEADER])["script-src"]
        request, response = respond(CSPMiddleware)  # no nonce asked for: none in the header
        assert directives(response[HEADER])["script-src"] == ["'self'"]
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)  # too late: the header is written
    decorated = HttpResponse("ok")
    decorated._csp_update = {"img-src": ["data:"]}
    _request, response = respond(CSPMiddleware, response=decorated)
    assert "data:" in directives(response[HEADER])["img-src"]
    exempt = HttpResponse("ok")
    exempt._csp_exempt = True
    _request, response = respond(CSPMiddleware, response=exempt)
    assert HEADER not in response


@pytest.mark.django_db
def test_the_api_docs_keep_their_wider_policy(client):
    docs = directives(client.get("/api/docs/")["Content-Security-Policy"])
    api = directives(client.get("/api/schema/")["Content-Security-Policy"])
    assert "data:" in docs["img-src"] and "data:" not in api["img-src"]
