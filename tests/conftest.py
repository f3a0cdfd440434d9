"""Shared fixtures: backends to run the integration suite on."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from tests.support.databases import BACKENDS, POSTGRES_URL


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        params = [
            pytest.param(b, marks=pytest.mark.skipif(b == "postgres" and not POSTGRES_URL,
                                                     reason="MONTAGE_TEST_POSTGRES_URL not set"))
            for b in BACKENDS
        ]
        metafunc.parametrize("backend", params)


_exit_status = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Exit without waiting for threads a test's DBOS left behind. A workflow still finishing
    when its test dropped the PostgreSQL database retries its last write forever (DBOS retries
    lost connections without limit), and Python's exit would join that thread: the run would
    hang after its results were already reported."""
    leftover = [t.name for t in threading.enumerate()
                if t is not threading.main_thread() and t.is_alive() and not t.daemon]
    if leftover:
        sys.stderr.write(f"\nexiting past {len(leftover)} leftover thread(s): {', '.join(sorted(leftover)[:8])}\n")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status)
