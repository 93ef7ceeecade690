"""Number checks and JSON conversion shared by the ML code, the retrain and the console (no imports
beyond the standard library, so every layer may use them)."""

from __future__ import annotations

import math
from typing import Any, TypeGuard


def is_number(value: Any) -> TypeGuard[float]:
    """An int or float, not a bool (``epochs=True`` is a bug, not a number)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_finite_number(value: Any) -> TypeGuard[float]:
    """A number that is neither NaN nor infinite (an int beyond float range is not finite)."""
    try:
        return is_number(value) and math.isfinite(value)
    except OverflowError:
        return False


def plain(value: Any) -> Any:
    """numpy scalars become Python numbers (so they can be stored as JSON); anything else as is."""
    try:
        return value.item()
    except AttributeError:
        return value


def json_number(value: Any) -> Any:
    """``plain(value)``, with floats rounded to 6 digits and NaN or infinities as ``None``."""
    value = plain(value)
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    return value
