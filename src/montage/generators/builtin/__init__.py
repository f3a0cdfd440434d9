"""Built-in generators: CPU only, no model weights, no network.

Every module in this package (and its sub-packages) registers its generators on import.
"""

from __future__ import annotations

import importlib
import pkgutil


def _import_all() -> None:
    for info in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
        importlib.import_module(info.name)


_import_all()
