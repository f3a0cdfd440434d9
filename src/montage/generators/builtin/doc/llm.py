"""An OpenAI-compatible chat client for the doc stages that can use a language model.

Used when the server setting ``llm_base_url`` is set (with ``llm_api_key`` and
``llm_model``). The model is asked for JSON; the answer is parsed even when wrapped in
```json fences or surrounded by prose.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx

from montage import outbound
from montage.errors import GeneratorError, UrlRefused
from montage.generators.base import StageContext

DEFAULT_TIMEOUT_S = 120.0
MAX_PROMPT_CHARS = 24_000


@dataclass(frozen=True)
class ChatSettings:
    """Where and how to reach the chat model."""

    base_url: str
    api_key: str | None
    model: str
    timeout_s: float = DEFAULT_TIMEOUT_S


def chat_settings(ctx: StageContext) -> ChatSettings | None:
    """The chat settings from the server settings, or None when no model is configured."""
    base = ctx.setting("llm_base_url")
    if not base:
        return None
    return ChatSettings(
        base_url=str(base).rstrip("/"),
        api_key=ctx.setting("llm_api_key") or None,
        model=str(ctx.setting("llm_model") or "gpt-4o-mini"),
        timeout_s=float(ctx.setting("llm_timeout_s", DEFAULT_TIMEOUT_S)),
    )


def feedback_prompt(ctx: StageContext) -> str:
    """The reviewer's feedback as a paragraph of the prompt (empty when there is none)."""
    if not ctx.feedback:
        return ""
    return (
        f"\n\nA reviewer rejected the previous version (revision {ctx.revision}) with this "
        f"feedback; the new version must address it:\n<feedback>{ctx.feedback}</feedback>"
    )


def chat_json(settings: ChatSettings, system: str, user: str) -> Any:
    """Ask the model and return the JSON value in its answer."""
    body = {
        "model": settings.model,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "temperature": 0.3,
    }
    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    try:
        with httpx.Client(transport=outbound.GuardedTransport(), timeout=settings.timeout_s) as client:
            response = client.post(f"{settings.base_url}/chat/completions", json=body, headers=headers)
    except (httpx.HTTPError, UrlRefused) as exc:
        raise GeneratorError(f"language model unreachable at {settings.base_url}: {exc}",
                             code="LLM_UNAVAILABLE", retryable=True) from None
    if response.status_code >= 400:
        retryable = response.status_code == 429 or response.status_code >= 500
        raise GeneratorError(
            f"language model answered HTTP {response.status_code}: {response.text[:300]}",
            code="LLM_HTTP_ERROR", retryable=retryable, status=response.status_code,
        )
    return extract_json(_message_content(response))


def _message_content(response: httpx.Response) -> str:
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise GeneratorError("language model answer is not a chat completion",
                             code="LLM_BAD_RESPONSE", retryable=True) from None
    if not isinstance(content, str):
        raise GeneratorError("language model answer has no text content", code="LLM_BAD_RESPONSE",
                             retryable=True)
    return content


_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def extract_json(text: str) -> Any:
    """The JSON value in a model's answer: fenced, bare, or the first {...} / [...] in prose."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for candidate in candidates:
        try:
            return json.loads(candidate.strip())
        except ValueError:
            pass
    decoder = json.JSONDecoder()
    for index, ch in enumerate(text):
        if ch in "{[":
            try:
                return decoder.raw_decode(text[index:])[0]
            except ValueError:
                continue
    raise GeneratorError("language model answer contains no JSON", code="LLM_BAD_RESPONSE",
                         retryable=True, answer=text[:300])


def clip_for_prompt(text: str, limit: int = MAX_PROMPT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying so when cut."""
    return text if len(text) <= limit else text[:limit] + "\n…(truncated)"


def strings(value: Any, limit: int = 12) -> list[str]:
    """A list of non-empty strings from a model's JSON value (anything else is dropped)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [" ".join(str(v).split()) for v in value if isinstance(v, str | int | float) and str(v).strip()][
        :limit
    ]
