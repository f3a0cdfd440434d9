"""The engine this process launched, for the workflow's steps to reach.

DBOS workflows are module-level functions, so they find their services here; it is set
by :meth:`montage.engine.runtime.Engine.launch`, never at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from montage.engine.runtime import Engine

_engine: Engine | None = None


def install(engine: Engine | None) -> None:
    global _engine
    _engine = engine


def current() -> Engine:
    if _engine is None:
        raise RuntimeError("the montage engine is not launched in this process")
    return _engine
