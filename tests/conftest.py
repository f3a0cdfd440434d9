"""Shared fixtures: backends to run the integration suite on."""

from __future__ import annotations

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
