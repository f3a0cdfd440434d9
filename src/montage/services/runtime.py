"""What every service shares in one process: settings, database, assets, wake-ups."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from montage import outbound
from montage.assets.backends import open_asset_store
from montage.assets.store import AssetStore
from montage.settings import Settings
from montage.store.db import Database


def tune_process(settings: Settings) -> None:
    """Settings that are the whole process's: called by the processes montage runs (serve,
    worker), not by a library user's. The thread switch interval: see the setting."""
    sys.setswitchinterval(settings.thread_switch_interval_s)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    assets: AssetStore
    _listeners: list[Callable[[], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Runtime:
        """Open the database (migrating it) and the asset store for these settings."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        outbound.configure(allow_private=settings.outbound_allow_private)
        db = Database(settings.app_database_url)
        if migrate:
            db.upgrade()
        return cls(settings=settings, db=db, assets=open_asset_store(settings))

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever this process writes an event (the live hub wakes)."""
        with self._lock:
            self._listeners.append(listener)

    def notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    def close(self) -> None:
        self.db.dispose()
