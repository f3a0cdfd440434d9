"""Generators by name.

Built-ins register themselves when ``montage.generators.builtin`` is imported; third
parties register through the ``montage.generators`` entry point group, whose objects are
generator classes (or instances).
"""

from __future__ import annotations

import threading
from importlib.metadata import entry_points
from typing import Any

from montage.errors import ValidationFailed
from montage.generators.base import Generator

_registry: dict[str, Generator] = {}
_loaded = False
_lock = threading.Lock()


def register(generator: Any) -> Any:
    """Register a generator class or instance under its ``name``; usable as a decorator."""
    instance = generator() if isinstance(generator, type) else generator
    _registry[instance.name] = instance
    return generator


def _load() -> None:
    """Register the built-ins and plugins once; callers on other threads wait until it is done."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        import montage.generators.builtin  # noqa: F401  (registers the built-ins)

        for ep in entry_points(group="montage.generators"):
            register(ep.load())
        _loaded = True


def get_generator(name: str) -> Generator:
    """The generator called ``name``; ``ValidationFailed`` lists the known ones otherwise."""
    _load()
    try:
        return _registry[name]
    except KeyError:
        raise ValidationFailed(
            f"unknown generator {name!r}", field="generator", allowed=sorted(_registry)
        ) from None


def generator_names() -> list[str]:
    _load()
    return sorted(_registry)
