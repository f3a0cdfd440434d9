"""API keys written straight into a server's database before it starts (no CLI subprocess)."""

from __future__ import annotations

from pathlib import Path

from montage.services.keys import KeyService
from montage.services.runtime import Runtime
from montage.settings import Settings


def add_keys(data_dir: Path, database_url: str | None, keys: dict[str, tuple[str, str]]) -> None:
    """Store ``{name: (secret, scope)}`` as API keys of the montage at ``data_dir`` / ``database_url``."""
    runtime = Runtime.open(Settings(data_dir=data_dir, database_url=database_url))
    try:
        service = KeyService(runtime)
        for name, (secret, scope) in keys.items():
            service.create(name, scope, secret=secret)
    finally:
        runtime.close()
