"""Model instances from hand-written SQL, built as the ORM builds them, without its query compilation.

The pages run a few small, fixed queries on every request (the viewer's progress, "continue
watching"), and compiling them with the ORM costs more CPU than running them. Here a query names a
model's columns with :func:`columns`, and :func:`instances` turns its rows back into instances the
way ``QuerySet`` does: each value through the backend's and the field's converters (SQLite hands
dates back as text, for instance), then ``Model.from_db`` (positional, Django's fast path).
:func:`unsaved` builds an unsaved instance from attribute values positionally too, with the fields'
defaults for the rest: the same object as ``Model(**values)`` at a third of the cost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

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
    """One saved instance of ``model`` per row of its :func:`columns` values."""
    plan = converters(model, alias)
    return [model.from_db(connection.alias, None, convert(row, plan)) for row in rows]


def unsaved(model: type[M], **values: Any) -> M:
    """``model(**values)``, built positionally: fields not in ``values`` take their defaults."""
    args = []
    for name, field, constant in _DEFAULTS.get(model) or _defaults(model):
        if name in values:
            args.append(values.pop(name))
        else:
            args.append(field.get_default() if constant is _CALL else constant)
    if values:
        raise TypeError(f"{model.__name__} has no field(s) {', '.join(sorted(values))}")
    return model(*args)


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
