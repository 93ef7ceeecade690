"""Model instances from hand-written SQL, built as the ORM builds them, without its query compilation.

The pages run a few small, fixed queries on every request (the viewer's progress, "continue
watching"), and compiling them with the ORM costs more CPU than running them. Here a query names a
model's columns with :func:`columns`, and :func:`instances` turns its rows back into instances the
way ``QuerySet`` does: each value through the backend's and the field's converters (SQLite hands
dates back as text, for instance), then the instance as ``Model.from_db`` makes it. :func:`unsaved`
builds an unsaved instance from attribute values, with the fields' defaults for the rest: the same
object as ``Model(**values)``.

Both fill a new instance's ``__dict__`` directly (``_bare``), which is what ``Model.__init__`` ends up
doing for plain concrete fields, at a fraction of its cost; a model with its own ``__init__`` or
``from_db``, or with ``pre_init`` / ``post_init`` receivers, goes through the constructor instead.
The converters of a model's columns are worked out once per database connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.db import connection, connections
from django.db.models import Model, signals
from django.db.models.base import ModelState

M = TypeVar("M", bound=Model)


def columns(model: type[Model], alias: str) -> str:
    """The model's concrete columns, in field order, for a SELECT list (``alias.column, ...``)."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields)


def width(model: type[Model]) -> int:
    """How many values :func:`columns` selects for ``model``."""
    return len(model._meta.concrete_fields)


def converters(model: type[Model], alias: str) -> list[tuple[int, list[Any], Any]]:
    """``(position, converter functions, column expression)`` for each of the model's columns that the
    database's values need converting for (none on PostgreSQL for this site's fields)."""
    out = []
    for position, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(alias)
        functions = _functions(column)
        if functions:
            out.append((position, functions, column))
    return out


def field_converter(field: Any, alias: str) -> Callable[[Any], Any]:
    """A function turning a database value of ``field`` (selected under ``alias``) into its Python value."""
    column = field.get_col(alias)
    functions = _functions(column)

    def converted(value: Any) -> Any:
        for function in functions:
            value = function(value, column, connection)
        return value

    return converted


def convert(values: Sequence[Any], plan: list[tuple[int, list[Any], Any]]) -> list[Any]:
    """``values`` with the converters of ``plan`` (see :func:`converters`) applied."""
    converted = list(values)
    for position, functions, column in plan:
        value = converted[position]
        for function in functions:
            value = function(value, column, connection)
        converted[position] = value
    return converted


def instances(model: type[M], rows: Iterable[Sequence[Any]], alias: str) -> list[M]:
    """One saved instance of ``model`` per row of its :func:`columns` values (read on ``connection``)."""
    db = connections[connection.alias]  # the thread's connection itself, not the proxy
    key = (model, alias)
    plan = db.__dict__.setdefault("_rows_plans", {}).get(key)
    if plan is None:
        plan = db._rows_plans[key] = converters(model, alias)
    if not plan:
        values: Iterable[Sequence[Any]] = rows
    else:
        values = (convert(row, plan) for row in rows)
    if not _plain(model):
        return [model.from_db(db.alias, None, list(row)) for row in values]
    names = [field.attname for field in model._meta.concrete_fields]
    return [_bare(model, dict(zip(names, row, strict=True)), db.alias) for row in values]


def unsaved(model: type[M], **values: Any) -> M:
    """``model(**values)``: fields not in ``values`` take their defaults."""
    attrs = {}
    for name, field, constant in _DEFAULTS.get(model) or _defaults(model):
        if name in values:
            attrs[name] = values.pop(name)
        else:
            attrs[name] = field.get_default() if constant is _CALL else constant
    if values:
        raise TypeError(f"{model.__name__} has no field(s) {', '.join(sorted(values))}")
    if not _plain(model):
        return model(*attrs.values())
    return _bare(model, attrs, None)


def _plain(model: type[Model]) -> bool:
    """Whether instances of ``model`` may be built by ``_bare``: no own constructor or ``from_db``, and
    nothing listening to its construction."""
    return (
        model.__init__ is Model.__init__
        and model.from_db.__func__ is Model.from_db.__func__  # type: ignore[attr-defined]
        and not signals.pre_init.has_listeners(model)
        and not signals.post_init.has_listeners(model)
    )


def _bare(model: type[M], attrs: dict[str, Any], db: str | None) -> M:
    """An instance of ``model`` with ``attrs`` (every concrete field's attname) as its attributes:
    saved on database ``db``, or unsaved when ``db`` is None."""
    instance = object.__new__(model)
    state = ModelState()
    state.db = db
    state.adding = db is None
    instance._state = state
    instance.__dict__.update(attrs)
    return instance


_CALL = object()


_DEFAULTS: dict[type[Model], tuple[tuple[str, Any, Any], ...]] = {}


def _defaults(model: type[Model]) -> tuple[tuple[str, Any, Any], ...]:
    """``(attname, field, default)`` per concrete field: the default when it is an immutable constant,
    ``_CALL`` when it must be made anew for each instance (a callable, a mutable value)."""
    out = []
    for field in model._meta.concrete_fields:
        default = field.get_default()
        constant = (
            default
            if isinstance(default, (str, int, float, bool, type(None))) and not callable(field.default)
            else _CALL
        )
        out.append((field.attname, field, constant))
    _DEFAULTS[model] = tuple(out)
    return _DEFAULTS[model]


def _functions(column: Any) -> list[Any]:
    """The backend's and the field's converters of a column expression, as the ORM applies them."""
    return connection.ops.get_db_converters(column) + column.get_db_converters(connection)
