"""What every service shares in one process: settings, database, assets, wake-ups."""

from __future__ import annotations

import gc
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


def settle_process() -> None:
    """Once a montage process has started (its modules imported, its engine launched): move
    every object alive now out of the garbage collector's sight. They live as long as the
    process, and each full collection walked all of them again, about every 15 s under load,
    holding the interpreter for 100-200 ms: requests answered then were the slowest 1 %."""
    gc.collect()
    gc.freeze()


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
