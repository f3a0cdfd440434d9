"""The language-model and speech-API paths, against a small OpenAI-compatible server over real HTTP."""

from __future__ import annotations

import io
import json
import math
import re
import struct
import threading
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from montage.errors import GeneratorError
from montage.generators.builtin.doc import run_doc_video
from montage.generators.builtin.doc.llm import extract_json
from montage.generators.builtin.doc.local import run_stage

DOC = """# Caching 101

Caches keep answers close to where they are needed.

## Why cache

Reading from memory is much faster than reading from disk. Networks are slower still.

## How to invalidate

- Time to live
- Explicit purge
"""


@dataclass
class FakeOpenAI:
    """What the fake server saw, and how it should answer."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_with: int | None = None
    garbage: bool = False
    url: str = ""


def _tone_wav(seconds: float = 0.6, rate: int = 24000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        samples = (int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate)))
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return buffer.getvalue()


def _indexes(prompt: str) -> list[int]:
    return sorted({int(n) for n in re.findall(r'"index": (\d+)', prompt)})


def _chat_answer(system: str, user: str) -> str:
    indexes = _indexes(user)
    if "plan short explainer videos" in system:
        sections = [{"index": i, "heading": f"LLM heading {i}", "key_points": [f"LLM point {i}.a", f"LLM point {i}.b"]}
                    for i in indexes]
        return "Here is the plan:\n```json\n" + json.dumps({"title": "LLM title", "sections": sections}) + "\n```"
    if "slide text" in system:
        slides = [{"index": i, "title": f"LLM slide {i}", "bullets": [f"LLM bullet {i}"]} for i in indexes]
        return "Sure! " + json.dumps({"slides": slides}) + " Hope that helps."
    scripts = [{"index": i, "text": f"This is the model narration for slide {i}."} for i in indexes]
    return "```json\n" + json.dumps({"scripts": scripts}) + "\n```"


def _handler(state: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
            if state.fail_with:
                self._send(state.fail_with, b'{"error": {"message": "boom"}}', "application/json")
            elif self.path == "/v1/audio/speech":
                self._send(200, _tone_wav(), "audio/wav")
            elif self.path == "/v1/chat/completions":
                messages = body["messages"]
                content = "no json here" if state.garbage else _chat_answer(messages[0]["content"],
                                                                             messages[1]["content"])
                answer = {"choices": [{"message": {"role": "assistant", "content": content}}]}
                self._send(200, json.dumps(answer).encode(), "application/json")
            else:
                self._send(404, b"{}", "application/json")

    return Handler


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    state = FakeOpenAI()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _llm_settings(state: FakeOpenAI) -> dict[str, Any]:
    return {"llm_base_url": state.url, "llm_api_key": "test-key", "llm_model": "fake-model"}


def _read(workdir: Path, rel: str) -> Any:
    return json.loads((workdir / rel).read_text(encoding="utf-8"))


def test_plan_outline_and_narration_come_from_the_model(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    run = run_doc_video(tmp_path, {"content": DOC, "language": "en"}, settings=_llm_settings(fake_openai),
                        until="NARRATION")
    plan = _read(tmp_path, run.outputs["PLAN"]["plan"])
    assert plan["source"] == "llm" and plan["title"] == "LLM title"
    assert plan["sections"][1]["key_points"] == ["LLM point 2.a", "LLM point 2.b"]
    assert plan["sections"][1]["heading"] == "LLM heading 2"
    outline = _read(tmp_path, run.outputs["OUTLINE"]["outline"])
    second = outline["slides"][1]
    assert second["title"] == "LLM slide 2" and second["elements"][0]["items"][0]["text"] == "LLM bullet 2"
    narration = _read(tmp_path, run.outputs["NARRATION"]["narration"])
    assert narration["slides"][0]["script"] == "This is the model narration for slide 1."
    chats = [r for r in fake_openai.requests if r["path"] == "/v1/chat/completions"]
    assert len(chats) == 3
    assert all(r["auth"] == "Bearer test-key" and r["body"]["model"] == "fake-model" for r in chats)


def test_feedback_goes_into_the_prompt(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    settings = _llm_settings(fake_openai)
    first = run_doc_video(tmp_path, {"content": DOC}, settings=settings, until="PLAN")
    outputs, _ = run_stage("PLAN", "doc.plan", tmp_path, {"content": DOC}, {}, settings=settings,
                           feedback="Add concrete examples", revision=1)
    prompt = fake_openai.requests[-1]["body"]["messages"][1]["content"]
    assert "Add concrete examples" in prompt and "Previous version" in prompt
    assert outputs["plan"] == "plan/plan.v2.json" and (tmp_path / first.outputs["PLAN"]["plan"]).exists()
    assert _read(tmp_path, outputs["plan"])["feedback"] == "Add concrete examples"


def test_speech_api_replaces_espeak(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    settings = {"tts_base_url": fake_openai.url, "tts_model": "tts-fake", "tts_voice": "nova",
                "tts_api_key": "speech-key"}
    run = run_doc_video(tmp_path, {"content": DOC}, settings=settings, until="NARRATION")
    narration = _read(tmp_path, run.outputs["NARRATION"]["narration"])
    assert narration["engine"] == "speech-api" and narration["voice"] == "nova"
    assert all(s["sample_rate"] == 24000 and s["speech_s"] == pytest.approx(0.6, abs=0.01)
               for s in narration["slides"])
    speech = [r for r in fake_openai.requests if r["path"] == "/v1/audio/speech"]
    assert len(speech) == len(narration["slides"])
    assert speech[0]["auth"] == "Bearer speech-key"
    assert speech[0]["body"]["model"] == "tts-fake" and speech[0]["body"]["response_format"] == "wav"


def test_a_failing_model_is_a_retryable_error(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.fail_with = 503
    with pytest.raises(GeneratorError) as caught:
        run_stage("PLAN", "doc.plan", tmp_path, {"content": DOC}, {}, settings=_llm_settings(fake_openai))
    assert caught.value.code == "LLM_HTTP_ERROR" and caught.value.retryable


def test_a_rejected_request_is_not_retryable(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.fail_with = 401
    with pytest.raises(GeneratorError) as caught:
        run_stage("PLAN", "doc.plan", tmp_path, {"content": DOC}, {}, settings=_llm_settings(fake_openai))
    assert caught.value.code == "LLM_HTTP_ERROR" and not caught.value.retryable


def test_an_answer_without_json_is_a_clear_error(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.garbage = True
    with pytest.raises(GeneratorError) as caught:
        run_stage("PLAN", "doc.plan", tmp_path, {"content": DOC}, {}, settings=_llm_settings(fake_openai))
    assert caught.value.code == "LLM_BAD_RESPONSE"


def test_an_unreachable_model_is_retryable(tmp_path: Path) -> None:
    settings = {"llm_base_url": "http://127.0.0.1:9/v1", "llm_timeout_s": 2}
    with pytest.raises(GeneratorError) as caught:
        run_stage("PLAN", "doc.plan", tmp_path, {"content": DOC}, {}, settings=settings)
    assert caught.value.code == "LLM_UNAVAILABLE" and caught.value.retryable


@pytest.mark.parametrize(("answer", "expected"), [
    ('```json\n{"a": 1}\n```', {"a": 1}),
    ('```\n[1, 2]\n```', [1, 2]),
    ('{"a": {"b": [1]}}', {"a": {"b": [1]}}),
    ('Sure, here: {"a": 2} — done', {"a": 2}),
    ('Text ```JSON\n{"x": "y"}``` more', {"x": "y"}),
])
def test_extract_json_handles_fences_and_prose(answer: str, expected: Any) -> None:
    assert extract_json(answer) == expected
