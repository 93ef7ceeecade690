"""The API reference drawn on the server from the OpenAPI schema.

The two documentation pages (/api/docs/, /api/redoc/) show this reference as plain HTML at once: every
operation grouped by tag, with its parameters, request body, responses and the schemas they use. The
interactive consoles (Swagger UI, ReDoc) are large bundles that a phone spends seconds parsing; they
load when the reader asks for them (static/js/api-console.js), not with the page.

The schema is the one /api/schema/ serves (drf-spectacular's generator), built once per language and
process: it changes only with the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from http import HTTPStatus
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
REF_PREFIX = "#/components/schemas/"
NO_TEXT = mark_safe("")


@dataclass(frozen=True)
class Field:
    """A parameter or a schema property: name, where it goes, its type in words, and its description."""

    name: str
    type: str
    type_ref: str = ""  # the component schema the type names, if any (an anchor on the page)
    location: str = ""  # query, path, header, cookie (parameters only)
    required: bool = False
    read_only: bool = False
    description: SafeString = NO_TEXT


@dataclass(frozen=True)
class Response:
    status: str
    description: SafeString
    schema: str = ""  # the component schema of the JSON body, if any
    schema_type: str = ""  # the body's type in words when it is not a component


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    anchor: str
    summary: str
    description: SafeString
    parameters: tuple[Field, ...]
    body_schema: str = ""
    responses: tuple[Response, ...] = ()
    authenticated: bool = True  # credentials required (no empty requirement in its security)


@dataclass(frozen=True)
class Group:
    tag: str
    operations: tuple[Operation, ...]


@dataclass(frozen=True)
class Schema:
    name: str
    description: SafeString
    fields: tuple[Field, ...] = ()
    enum: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reference:
    title: str
    version: str
    description: SafeString
    groups: tuple[Group, ...]
    schemas: tuple[Schema, ...] = field(default_factory=tuple)

    @property
    def operation_count(self) -> int:
        return sum(len(group.operations) for group in self.groups)


_CODE = re.compile(r"`([^`]+)`")


def _inline(text: str) -> str:
    return _CODE.sub(r"<code>\1</code>", str(escape(text)))


def text_html(text: str | None) -> SafeString:
    """A description (the Markdown subset the schema uses: `code`, paragraphs, "* " lists) as safe HTML."""
    html = []
    for block in re.split(r"\n\s*\n", text or ""):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if lines and all(line.startswith(("* ", "- ")) for line in lines):
            html.append("<ul>" + "".join(f"<li>{_inline(line[2:])}</li>" for line in lines) + "</ul>")
        elif lines:
            html.append(f"<p>{_inline(' '.join(lines))}</p>")
    return mark_safe("".join(html))  # every piece of the text was escaped by _inline


def _ref_name(schema: dict[str, Any]) -> str:
    """The component a schema refers to, directly or as the only member of an ``allOf``."""
    if "$ref" in schema:
        return str(schema["$ref"]).removeprefix(REF_PREFIX)
    members = schema.get("allOf") or []
    if len(members) == 1 and "$ref" in members[0]:
        return str(members[0]["$ref"]).removeprefix(REF_PREFIX)
    return ""


def type_words(schema: dict[str, Any]) -> tuple[str, str]:
    """A schema's type in a few words ("integer, 1 to 100", "array of Video") and the component it names."""
    ref = _ref_name(schema)
    if ref:
        return ref, ref
    kind = schema.get("type", "object")
    if kind == "array":
        inner, inner_ref = type_words(schema.get("items") or {})
        return f"array of {inner}", inner_ref
    words = str(kind)
    if schema.get("format") in ("date-time", "date", "uri", "email", "uuid"):
        words += f" ({schema['format']})"
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None and high < 2**53:
        words += f", {low} to {high}"
    elif low is not None:
        words += f", at least {low}"
    if "maxLength" in schema:
        words += f", at most {schema['maxLength']} characters"
    if "default" in schema:
        words += f", default {schema['default']}"
    if schema.get("nullable"):
        words += ", or null"
    return words, ""


def _fields(schema: dict[str, Any]) -> tuple[Field, ...]:
    required = set(schema.get("required") or ())
    found = []
    for name, prop in (schema.get("properties") or {}).items():
        words, ref = type_words(prop)
        found.append(
            Field(
                name=name,
                type=words,
                type_ref=ref,
                required=name in required,
                read_only=bool(prop.get("readOnly")),
                description=text_html(prop.get("description")),
            )
        )
    return tuple(found)


def _json_schema(content: dict[str, Any] | None) -> dict[str, Any]:
    for media_type, body in (content or {}).items():
        if "json" in media_type:
            return dict(body.get("schema") or {})
    return {}


def _status_phrase(status: str) -> str:
    """The standard phrase of an HTTP status ("200" -> "OK") for responses the schema leaves undescribed."""
    try:
        return HTTPStatus(int(status)).phrase
    except ValueError:
        return ""


def _operation(path: str, method: str, spec: dict[str, Any]) -> Operation:
    parameters = []
    for parameter in spec.get("parameters") or ():
        words, ref = type_words(parameter.get("schema") or {})
        parameters.append(
            Field(
                name=parameter["name"],
                type=words,
                type_ref=ref,
                location=parameter.get("in", ""),
                required=bool(parameter.get("required")),
                description=text_html(parameter.get("description")),
            )
        )
    body = _json_schema((spec.get("requestBody") or {}).get("content"))
    responses = []
    for status, response in (spec.get("responses") or {}).items():
        schema = _json_schema(response.get("content"))
        ref = _ref_name(schema)
        responses.append(
            Response(
                status=str(status),
                description=text_html(response.get("description") or _status_phrase(str(status))),
                schema=ref,
                schema_type="" if ref or not schema else type_words(schema)[0],
            )
        )
    security = spec.get("security")
    return Operation(
        method=method.upper(),
        path=path,
        anchor=f"op-{spec.get('operationId') or method + path}",
        summary=str(spec.get("summary") or ""),
        description=text_html(spec.get("description")),
        parameters=tuple(parameters),
        body_schema=_ref_name(body),
        responses=tuple(responses),
        # OpenAPI: an empty requirement ({}) among the alternatives makes credentials optional.
        authenticated=security is None or (bool(security) and all(security)),
    )


def build_reference(schema: dict[str, Any]) -> Reference:
    """The page's reference from an OpenAPI 3 document (as drf-spectacular generates it)."""
    groups: dict[str, list[Operation]] = {}
    for path, item in (schema.get("paths") or {}).items():
        for method in METHODS:
            if method in item:
                tag = (item[method].get("tags") or ["api"])[0]
                groups.setdefault(tag, []).append(_operation(path, method, item[method]))
    components = (schema.get("components") or {}).get("schemas") or {}
    schemas = tuple(
        Schema(
            name=name,
            description=text_html(spec.get("description")),
            fields=_fields(spec),
            enum=tuple(str(value) for value in spec.get("enum") or () if value not in ("", None)),
        )
        for name, spec in sorted(components.items())
    )
    info = schema.get("info") or {}
    return Reference(
        title=str(info.get("title") or ""),
        version=str(info.get("version") or ""),
        description=text_html(info.get("description")),
        groups=tuple(Group(tag, tuple(operations)) for tag, operations in groups.items()),
        schemas=schemas,
    )


@lru_cache(maxsize=8)
def _reference_for(language: str) -> Reference:
    from drf_spectacular.generators import SchemaGenerator

    return build_reference(SchemaGenerator().get_schema(request=None, public=True))


def api_reference() -> Reference:
    """The reference in the active language, built once per language and process."""
    return _reference_for(get_language() or "")
