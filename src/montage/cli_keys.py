"""``montage keys create|list|revoke``: API keys, managed on the database directly (no server needed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from montage.errors import MontageError
from montage.services.keys import KeyService
from montage.services.runtime import Runtime
from montage.settings import Settings

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Data folder (MONTAGE_DATA_DIR).")]
DbOpt = Annotated[str | None, typer.Option("--database-url", help="Database URL (MONTAGE_DATABASE_URL).")]


@contextmanager
def key_service(data_dir: Path | None, database_url: str | None) -> Iterator[KeyService]:
    overrides: dict[str, Any] = {"data_dir": data_dir, "database_url": database_url}
    runtime = Runtime.open(Settings(**{k: v for k, v in overrides.items() if v is not None}))
    try:
        yield KeyService(runtime)
    except MontageError as exc:
        err.print(f"[red]error {exc.code}[/red]: {exc.message}")
        raise typer.Exit(1) from None
    finally:
        runtime.close()


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="What the key is for.")],
    scope: Annotated[str, typer.Option("--scope", help="read, write or admin.")] = "write",
    expires_in: Annotated[str | None, typer.Option("--expires-in", help="3600, 30m, 12h, 30d, 2w.")] = None,
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Create a key and print it. It is shown this once: montage keeps only a hash."""
    with key_service(data_dir, database_url) as keys:
        created = keys.create(name, scope, expires_in)
    err.print(f"created {created.key.id} ({created.key.scope.word}"
              f"{', expires ' + created.key.expires_at.isoformat() if created.key.expires_at else ''}); "
              "store the key now, it cannot be shown again:")
    console.print(created.secret, soft_wrap=True)


@keys_app.command("list")
def list_keys(data_dir: DataDirOpt = None, database_url: DbOpt = None) -> None:
    """List keys (never their secrets)."""
    with key_service(data_dir, database_url) as keys:
        found = keys.list()
    table = Table()
    table.add_column("id", no_wrap=True, min_width=20)  # whole, or it cannot be pasted into `keys revoke`
    for title in ("name", "scope", "prefix", "created", "expires", "revoked", "last used"):
        table.add_column(title)
    for key in found:
        table.add_row(key.id, key.name, key.scope.word, key.prefix + "…", _day(key.created_at),
                      _day(key.expires_at) if key.expires_at else "never",
                      _day(key.revoked_at) if key.revoked_at else "",
                      _day(key.last_used_at) if key.last_used_at else "")
    console.print(table)


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


@keys_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key's id (see `montage keys list`).")],
           data_dir: DataDirOpt = None, database_url: DbOpt = None) -> None:
    """Revoke a key: it stops working at once here, within auth_cache_s on running servers."""
    with key_service(data_dir, database_url) as keys:
        key = keys.revoke(key_id)
    console.print(f"{key.id} revoked")


def keys_configured(settings: Settings) -> bool:
    """Whether the database at these settings holds a key that is not revoked."""
    runtime = Runtime.open(settings)
    try:
        return KeyService(runtime).configured()
    finally:
        runtime.close()


@keys_app.command("webhook-secrets")
def webhook_secrets(data_dir: DataDirOpt = None, database_url: DbOpt = None) -> None:
    """Print the secrets webhook deliveries are signed with (give one to each receiver)."""
    from montage.services.webhooks import signing_secrets

    overrides: dict[str, Any] = {"data_dir": data_dir, "database_url": database_url}
    runtime = Runtime.open(Settings(**{k: v for k, v in overrides.items() if v is not None}))
    try:
        for secret in signing_secrets(runtime):
            console.print(secret, soft_wrap=True)
    finally:
        runtime.close()
