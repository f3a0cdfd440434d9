"""The OpenAI-compatible embeddings client, against a mock transport."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

from montage.errors import GeneratorError
from montage.generators.builtin.kb.embedder import OpenAIEmbeddings, embedder_for, normalise_rows


def test_sends_model_and_input_and_returns_normalised_rows_in_index_order() -> None:
    seen: list[dict[str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append({"auth": request.headers.get("authorization"), "body": json.loads(request.content)})
        data = [{"index": 1, "embedding": [0, 2]}, {"index": 0, "embedding": [3, 4]}]
        return httpx.Response(200, json={"data": data})

    client = OpenAIEmbeddings("http://emb.local/v1/", "k3y", "text-embedding-3-small",
                              transport=httpx.MockTransport(answer))
    vectors = client.embed(["a", "b"])
    assert seen == [{"auth": "Bearer k3y", "body": {"model": "text-embedding-3-small", "input": ["a", "b"]}}]
    assert np.allclose(vectors, [[0.6, 0.8], [0.0, 1.0]])


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (429, True), (400, False)])
def test_http_errors_say_whether_a_retry_can_help(status: int, retryable: bool) -> None:
    client = OpenAIEmbeddings("http://emb.local", None, "m",
                              transport=httpx.MockTransport(lambda r: httpx.Response(status, text="nope")))
    with pytest.raises(GeneratorError) as info:
        client.embed(["a"])
    assert info.value.code == "EMBEDDING_FAILED" and info.value.retryable is retryable


def test_a_short_answer_is_an_error() -> None:
    client = OpenAIEmbeddings("http://emb.local", None, "m", transport=httpx.MockTransport(
        lambda r: httpx.Response(200, json={"data": [{"index": 0, "embedding": [1.0]}]})))
    with pytest.raises(GeneratorError):
        client.embed(["a", "b"])


def test_an_unknown_local_model_needs_an_endpoint() -> None:
    with pytest.raises(GeneratorError) as info:
        embedder_for(None, None, "bge-large")
    assert info.value.code == "EMBEDDING_MODEL_UNAVAILABLE"
    assert np.allclose(normalise_rows(np.array([[0.0, 0.0], [2.0, 0.0]])), [[0, 0], [1, 0]])
