"""How to talk to one submit-then-poll video provider: URLs, where things are, what codes mean.

Every model served by an upstream provider has one :class:`UpstreamVideoConfig` (the
``MONTAGE_VIDEO_UPSTREAM_MODELS`` setting maps model names to them, as JSON). The defaults
describe the Jimeng-style API of the async video contract: the status codes 20/42/45 mean
processing, 30 failed, 10/50 completed; progress is estimated from the code; the video URL
is looked for in four places of the first result item; fail codes 5000 and 2003 have
messages, others read "生成失败 (错误码: N)".

Paths into JSON answers are dotted (``data.aigc_data.history_record_id``); a segment may
be ``{task_id}`` and a number indexes a list. Request bodies are JSON templates whose
strings may hold ``{model}``, ``{prompt}``, ``{ratio}``, ``{resolution}``, ``{duration}``,
``{function_mode}``, ``{images}`` (a list), ``{first_image}``, ``{last_image}`` and
``{task_id}``; a string that is exactly one placeholder takes the value's own JSON type.
Header values may name environment variables as ``${NAME}``, so secrets stay out of the
settings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

UpstreamState = Literal["pending", "processing", "completed", "failed"]

DEFAULT_SUBMIT_BODY: dict[str, Any] = {
    "model": "{model}", "prompt": "{prompt}", "ratio": "{ratio}", "resolution": "{resolution}",
    "duration": "{duration}", "file_paths": "{images}", "functionMode": "{function_mode}",
}
#: The contract's upstream: where a finished item keeps its video URL, in order of preference.
DEFAULT_VIDEO_URL_PATHS = ["video.transcoded_video.origin.video_url", "video.play_url", "video.download_url",
                           "video.url"]
DEFAULT_STATUS_MAP: dict[str, UpstreamState] = {
    "20": "processing", "42": "processing", "45": "processing", "30": "failed", "10": "completed",
    "50": "completed",
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class UpstreamVideoConfig(BaseModel):
    """One upstream model: how to submit, poll, read and judge its tasks, and what it accepts."""

    model_config = ConfigDict(extra="forbid")

    submit_url: HttpUrl = Field(description="POST here to start a task.")
    status_url: str = Field(description="Where a task's status is read; may hold {task_id}.")
    status_method: Literal["GET", "POST"] = "GET"
    status_body: Any = Field(None, description="JSON template of a POST status request.")
    headers: dict[str, str] = Field(default_factory=dict, description="Sent with every request; ${ENV} expands.")
    idempotency_header: str | None = Field("Idempotency-Key", description="Carries the job id on submit.")
    upstream_model: str | None = Field(None, description="Model name sent upstream (default: the model's name).")
    submit_body: Any = Field(default_factory=lambda: dict(DEFAULT_SUBMIT_BODY))
    pictures_as: Literal["url", "data_uri"] = Field("data_uri", description="How uploaded pictures are sent "
                                                    "(URLs from file_paths are passed on as they are).")
    task_id_path: str = Field("task_id", description="Where the submit answer holds the task id.")
    record_path: str = Field("", description="Where the status answer holds the task ('' = all of it).")
    status_path: str = "status"
    fail_code_path: str = "fail_code"
    items_path: str = "item_list"
    video_url_paths: list[str] = Field(default_factory=lambda: list(DEFAULT_VIDEO_URL_PATHS))
    status_map: dict[str, UpstreamState] = Field(default_factory=lambda: dict(DEFAULT_STATUS_MAP))
    unknown_status: UpstreamState = "processing"
    progress: dict[str, float] = Field(default_factory=lambda: {"20": 50.0, "42": 80.0, "45": 90.0})
    progress_default: float = 30.0
    progress_with_items: float = 90.0
    failure_messages: dict[str, str] = Field(default_factory=lambda: {"5000": "积分不足", "2003": "内容违规"})
    failure_default: str = "生成失败 (错误码: {code})"
    failure_no_code: str = "生成失败"
    poll_interval_s: float = Field(2.0, gt=0, description="First wait between status reads.")
    max_poll_interval_s: float = Field(10.0, gt=0, description="Longest wait between status reads.")
    request_timeout_s: float = Field(30.0, gt=0, description="Timeout of one request (a slow answer fails it).")
    connect_timeout_s: float = Field(10.0, gt=0)
    max_consecutive_failures: int = Field(10, ge=1, description="Network failures in a row before giving up.")
    deadline_s: float = Field(1800.0, gt=0, description="Give up this long after submitting.")
    missing_limit: int = Field(5, ge=1, description="Status answers without the task before it is gone.")
    download_attempts: int = Field(3, ge=1, description="Downloads tried (each with a fresh URL) before failing.")
    max_video_bytes: int = Field(1 << 30, ge=1024)
    ratios: list[str] = Field(default_factory=lambda: ["1:1", "16:9", "9:16", "4:3", "3:4", "21:9"])
    resolutions: list[str] = Field(default_factory=lambda: ["720p", "1080p"])
    min_duration: int = Field(4, ge=1)
    max_duration: int = Field(15, ge=1)
    function_modes: list[str] = Field(default_factory=lambda: ["first_last_frames"])

    @field_validator("status_map", "progress", "failure_messages", mode="before")
    @classmethod
    def _string_keys(cls, value: Any) -> Any:
        return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else value

    def failure_message(self, code: str | None) -> str:
        """The contract's message for a fail code."""
        if not code:
            return self.failure_no_code
        return self.failure_messages.get(code) or self.failure_default.format(code=code)

    def state_of(self, status: str) -> UpstreamState:
        return self.status_map.get(status, self.unknown_status)

    def progress_of(self, status: str, items: int) -> float:
        """The contract's estimate: 90 once there are results, else by status code."""
        if items > 0:
            return self.progress_with_items
        return self.progress.get(status, self.progress_default)


def parse_upstream_models(raw: Mapping[str, Any]) -> dict[str, UpstreamVideoConfig]:
    """Validate the setting; ``ValueError`` naming the model whose config is wrong."""
    models = {}
    for name, config in raw.items():
        try:
            models[name] = UpstreamVideoConfig.model_validate(config)
        except ValueError as exc:
            raise ValueError(f"upstream video model {name!r}: {exc}") from None
    return models


def fill(template: Any, values: Mapping[str, Any]) -> Any:
    """``template`` with ``{name}`` placeholders replaced (see the module docstring)."""
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template)
        if whole and whole.group(1) in values:
            return values[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template)
    if isinstance(template, Mapping):
        return {key: fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(value, values) for value in template]
    return template


def dig(data: Any, path: str, values: Mapping[str, Any] | None = None) -> Any:
    """The value at dotted ``path`` in ``data`` (segments filled from ``values``), or None."""
    if not path:
        return data
    current = data
    for segment in path.split("."):
        key = fill(segment, values or {})
        if isinstance(current, Mapping):
            current = current.get(str(key))
        elif isinstance(current, list) and str(key).isdigit() and int(key) < len(current):
            current = current[int(key)]
        else:
            return None
        if current is None:
            return None
    return current


def expand_env(value: str, env: Mapping[str, str] | None = None) -> str:
    """``${NAME}`` replaced by the environment variable; ``KeyError`` naming a missing one."""
    source = os.environ if env is None else env

    def lookup(match: re.Match[str]) -> str:
        return source[match.group(1)]

    return _ENV.sub(lookup, value)
