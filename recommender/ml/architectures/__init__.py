"""The network architectures, one module each, registered by name.

Every module of this package that defines ``ARCHITECTURE`` (a
:class:`~recommender.ml.architectures.base.Architecture`) is registered under that object's name,
in module-name order: the Keras builder and the numpy forward pass of a network live side by
side in its module, and nothing else needs to know the network's layers.  Training builds through
:func:`architecture`, scoring finds a loaded model's forward pass with :func:`forward_of`, and the
configuration takes its list of valid names from :data:`NAMES`.

Importing this package does not import TensorFlow (the builders import Keras when called).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

from recommender.ml.architectures.base import MODEL_PREFIX, Architecture, Forward

if TYPE_CHECKING:
    import keras

__all__ = ["NAMES", "REGISTRY", "Architecture", "Forward", "architecture", "architecture_name_of", "forward_of"]


def _discover() -> dict[str, Architecture]:
    found: dict[str, Architecture] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        arch = getattr(module, "ARCHITECTURE", None)
        if arch is None:  # shared building blocks, not a network
            continue
        if not isinstance(arch, Architecture):
            raise TypeError(f"{module.__name__}.ARCHITECTURE must be an Architecture, got {type(arch).__name__}")
        if arch.name in found:
            raise ValueError(f"architecture {arch.name!r} is registered twice ({module.__name__})")
        found[arch.name] = arch
    return found


REGISTRY: dict[str, Architecture] = _discover()
NAMES: tuple[str, ...] = tuple(REGISTRY)


def architecture(name: str) -> Architecture:
    """The registered architecture ``name``; ``ValueError`` for an unknown one."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"architecture must be one of {NAMES}, got {name!r}") from None


def architecture_name_of(model: keras.Model) -> str:
    """The architecture that built ``model`` (its name says so: ``ncf_<architecture>``);
    ``ValueError`` for a model no registered architecture built."""
    name = model.name.removeprefix(MODEL_PREFIX)
    if not model.name.startswith(MODEL_PREFIX) or name not in REGISTRY:
        raise ValueError(f"model {model.name!r} was not built by a registered architecture {NAMES}")
    return name


def forward_of(model: keras.Model) -> Forward:
    """The numpy forward pass of ``model`` (built by a registered architecture, or loaded)."""
    return REGISTRY[architecture_name_of(model)].forward(model)
