"""The API reference drawn on the server (api/reference.py): both documentation pages list every
operation of the served schema, its parameters, responses and schemas, escaped, in the request's
language, without loading the interactive consoles' bundles with the page."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from api.reference import build_reference, text_html, type_words

DOC_PAGES = ("api-docs", "api-redoc")


@pytest.fixture
def served_schema(client, db):
    return client.get(reverse("api-schema") + "?format=json").json()


@pytest.mark.parametrize("page", DOC_PAGES)
def test_page_lists_every_operation_parameter_and_schema(client, served_schema, page):
    body = html.unescape(client.get(reverse(page), HTTP_ACCEPT_LANGUAGE="en").text)
    operations = [
        (method.upper(), path, spec)
        for path, item in served_schema["paths"].items()
        for method, spec in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) >= 10
    assert f"{len(operations)} endpoints" in body
    for method, path, spec in operations:
        anchor = f'id="op-{spec["operationId"]}"'
        assert anchor in body, f"{method} {path} has no section"
        section = body.split(anchor, 1)[1].split('class="api-op"', 1)[0]
        assert f'>{method}</span> <code class="api-path">{path}</code>' in section
        assert spec["summary"] in section
        for parameter in spec.get("parameters", ()):
            assert f"<code>{parameter['name']}</code>" in section, (path, parameter["name"])
        for status in spec["responses"]:
            assert f'<th scope="row">{status}</th>' in section, (path, status)
    for name in served_schema["components"]["schemas"]:
        assert f'id="schema-{name}"' in body
    # Every link inside the reference lands on a section of the page.
    targets = set(re.findall(r'href="#([^"]+)"', body))
    assert targets and targets <= set(re.findall(r'id="([^"]+)"', body))


def test_reference_details_types_bodies_and_undescribed_responses(client, db):
    body = client.get(reverse("api-docs")).text
    section = body.split('id="op-recommendations_retrieve"', 1)[1].split('class="api-op"', 1)[0]
    assert "<td>query</td><td>integer, 1 to 100, default 20</td>" in section
    create = body.split('id="op-events_create"', 1)[1].split('class="api-op"', 1)[0]
    assert 'JSON: <a href="#schema-WatchEventCreateRequest">WatchEventCreateRequest</a>' in create
    # Credentials: required everywhere but where the schema allows none (obtaining a token).
    token = body.split('id="op-auth_token_create"', 1)[1].split('class="api-op"', 1)[0]
    assert "Works without credentials." in token
    assert "Works without credentials." not in section and "Works without credentials." not in create
    # A response the schema leaves undescribed says its standard phrase.
    assert '<th scope="row">200</th><td><p>OK</p></td>' in section
    # Enumerations list their values; read-only fields are marked.
    assert re.search(r'id="schema-ModelVersionStatusEnum".*?One of: <code>', body, re.S)
    event = body.split('id="schema-WatchEvent"', 1)[1].split('class="api-op"', 1)[0]
    assert '<code>watched_at</code> <span class="api-readonly">read-only</span>' in event


@pytest.mark.parametrize("page", DOC_PAGES)
def test_consoles_load_on_demand_only(client, db, page):
    body = client.get(reverse(page)).text
    scripts = re.findall(r'<script src="([^"]+)"', body)
    assert scripts == ["/static/js/api-console.js"]
    assert 'class="api-console-open"' in body
    assert re.search(r'class="api-console"[^>]* hidden', body)


def test_reference_follows_the_request_language(client, db):
    body = client.get(reverse("api-docs"), HTTP_ACCEPT_LANGUAGE="zh-hans").text
    assert '<html lang="zh-hans">' in body
    assert "打开交互式控制台" in body and "参数" in body and "响应" in body


def test_descriptions_are_escaped_and_keep_their_markup():
    assert str(text_html("Use `a<b>` & <script>x</script>\n\nSecond")) == (
        "<p>Use <code>a&lt;b&gt;</code> &amp; &lt;script&gt;x&lt;/script&gt;</p><p>Second</p>"
    )
    assert str(text_html("* `mlp` - mlp\n* `neumf` - neumf")) == (
        "<ul><li><code>mlp</code> - mlp</li><li><code>neumf</code> - neumf</li></ul>"
    )
    assert str(text_html(None)) == ""


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ({"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, ("integer, 1 to 100, default 20", "")),
        ({"type": "integer", "minimum": 1, "maximum": 2**63 - 1}, ("integer, at least 1", "")),
        ({"type": "string", "format": "date-time", "nullable": True}, ("string (date-time), or null", "")),
        ({"type": "string", "maxLength": 64}, ("string, at most 64 characters", "")),
        ({"$ref": "#/components/schemas/Video"}, ("Video", "Video")),
        ({"allOf": [{"$ref": "#/components/schemas/KindEnum"}], "readOnly": True}, ("KindEnum", "KindEnum")),
        ({"type": "array", "items": {"$ref": "#/components/schemas/Video"}}, ("array of Video", "Video")),
    ],
)
def test_type_words(schema, words):
    assert type_words(schema) == words


def test_build_reference_from_a_minimal_document():
    reference = build_reference(
        {
            "info": {"title": "T", "version": "2"},
            "paths": {
                "/x/": {
                    "get": {"operationId": "x_list", "responses": {"204": {}}, "security": [{}]},
                    "parameters": [],
                }
            },
        }
    )
    (group,) = reference.groups
    (operation,) = group.operations
    assert (group.tag, operation.method, operation.path, operation.anchor) == ("api", "GET", "/x/", "op-x_list")
    assert operation.responses[0].description == "<p>No Content</p>"
    assert operation.authenticated is False
    assert reference.operation_count == 1 and reference.schemas == ()
