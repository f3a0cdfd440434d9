"""Server secrets that must survive restarts: a setting when given, else a file in the data dir."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path


def server_secret(data_dir: Path, name: str, configured: str | None, *, webhook: bool = False) -> str:
    """``configured`` if set; else the secret kept in ``<data-dir>/secrets/<name>``, created (mode
    0600) on first use so every process sharing the data dir agrees on it."""
    if configured:
        return configured
    folder = data_dir / "secrets"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / name
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    value = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode() if webhook else secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value)
    return value
