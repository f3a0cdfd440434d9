"""Serving never leaves the job's folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from montage.assets.store import AssetStore
from montage.generators.standalone import safe_relpath


@pytest.fixture
def store(tmp_path: Path) -> AssetStore:
    s = AssetStore(tmp_path / "assets")
    (s.job_dir("job_a") / "scene").mkdir(parents=True)
    (s.job_dir("job_a") / "scene" / "scene.png").write_bytes(b"png")
    (s.job_dir("job_ab")).mkdir()
    (s.job_dir("job_ab") / "secret.txt").write_text("other job")
    (tmp_path / "outside.txt").write_text("outside")
    os.symlink(tmp_path / "outside.txt", s.job_dir("job_a") / "link.txt")
    os.symlink(tmp_path, s.job_dir("job_a") / "linkdir")
    return s


@pytest.mark.parametrize("path", [
    "../job_ab/secret.txt", "scene/../../job_ab/secret.txt", "/etc/passwd", "..\\job_ab\\secret.txt",
    "scene\x00.png", "link.txt", "linkdir/outside.txt", "", "scene", "../../outside.txt",
])
def test_traversal_corpus_serves_nothing(store: AssetStore, path: str) -> None:
    assert store.resolve("job_a", path) is None


@pytest.mark.parametrize("job_id", ["..", ".", "a/b", "a\\b", "", "job\x00"])
def test_bad_job_ids_are_refused(store: AssetStore, job_id: str) -> None:
    assert store.resolve(job_id, "scene/scene.png") is None


def test_a_real_file_resolves(store: AssetStore) -> None:
    assert store.resolve("job_a", "scene/scene.png") == store.job_dir("job_a").resolve() / "scene" / "scene.png"


@pytest.mark.parametrize("bad", ["../x", "/abs", "a/../../b", "", "a\x00b"])
def test_generators_cannot_write_outside(bad: str) -> None:
    with pytest.raises(ValueError):
        safe_relpath(bad)
