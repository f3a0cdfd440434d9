"""Settings, read from ``MONTAGE_*`` environment variables and injected everywhere.

Nothing reads settings at import time: ``create_app(settings)``, ``Worker(settings)``.
``montage config`` prints the effective values with secrets masked.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting has a description and an env name ``MONTAGE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="MONTAGE_", extra="ignore")

    data_dir: Path = Field(Path("./montage-data"), description="Folder for assets and the SQLite files.")
    database_url: str | None = Field(
        None,
        description="App database URL. Default: SQLite at <data-dir>/montage.db. "
        "Use postgresql://… to scale out over several processes and machines.",
    )
    host: str = Field("127.0.0.1", description="Address `montage serve` listens on.")
    port: int = Field(8000, description="Port `montage serve` listens on.")
    public_url: str | None = Field(
        None, description="Absolute base URL clients reach this server at (for absolute links)."
    )
    run_worker: bool = Field(True, description="Run an executor inside `montage serve`.")
    executor_id: str | None = Field(
        None, description="Stable id of this executor; a restarted process recovers its own unfinished jobs."
    )
    app_version: str = Field("montage-1", description="DBOS application version pinned for recovery.")
    worker_concurrency: int = Field(8, ge=1, description="Jobs one executor runs at once per queue.")
    strict_start_order: bool = Field(
        False, description="Jobs an executor dequeues together start strictly in queue order (DBOS claims "
        "them in order; their threads then race by milliseconds). Costs reads at each job's first start and "
        "waits up to 5 s for jobs ahead claimed by other executors: a third of the throughput under a backlog.",
    )
    queue_concurrency: dict[str, int] = Field(
        default_factory=dict,
        description='Global concurrency per queue, e.g. {"media": 2}; absent means unlimited.',
    )
    queue_polling_interval_s: float = Field(
        0.05, gt=0, description="How often an executor looks for queued jobs on the default queue "
        "(and the queues named in queue_concurrency): their jobs start within this.",
    )
    long_queue_polling_interval_s: float = Field(
        0.5, gt=0, description="How often an executor looks for jobs on the queues of long-running work "
        "(media, batch runs, processing servers). Each queue polled costs a database transaction per poll.",
    )
    thread_switch_interval_s: float = Field(
        0.0005, gt=0, le=0.1, description="Python's thread switch interval in montage processes "
        "(sys.setswitchinterval; Python's own is 0.005). A thread that holds a database lock gives up the "
        "interpreter at each query and waits up to this long to get it back; with Python's 5 ms, requests "
        "and stages queued behind one SQLite writer (or PostgreSQL's event lock) and halved throughput.",
    )
    max_queued_jobs: int = Field(100_000, ge=1, description="Queued jobs beyond this are refused (QUEUE_FULL).")
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024, description="Largest request body accepted (413).")
    max_markdown_chars: int = Field(200_000, ge=1, description="Largest Markdown document accepted.")
    max_media_duration_s: float = Field(600.0, gt=0, description="Longest media duration_s accepted.")
    default_timeout_s: float = Field(3600.0, gt=0, description="Job timeout when a request names none.")
    approval_timeout_s: float = Field(
        7 * 24 * 3600.0, gt=0, description="How long a job waits at an approval gate."
    )
    heartbeat_interval_s: float = Field(5.0, gt=0, description="Executor heartbeat period.")
    worker_dead_after_s: float = Field(
        30.0, gt=0, description="An executor with no heartbeat for this long is dead: a live executor "
        "(PostgreSQL only) re-queues its unfinished jobs. Keep it well above heartbeat_interval_s.",
    )
    shutdown_grace_s: float = Field(
        30.0, ge=0, description="On SIGTERM a worker stops taking jobs and lets running stages finish for "
        "up to this long; what is left is taken over by another executor.",
    )
    executor_labels: list[str] = Field(
        default_factory=list, description='Labels of this executor, JSON list (e.g. ["gpu"]); it also takes '
        "the jobs of pipelines whose stages require one of them (`montage worker --labels gpu,cpu`).",
    )
    log_level: str = Field("INFO", description="Log level.")
    assets_backend: Literal["local", "s3"] = Field(
        "local", description="Where artifacts are kept: local (<data-dir>/assets) or s3 (an S3-compatible "
        "bucket every replica and worker shares; the data dir then holds only working copies).",
    )
    s3_bucket: str | None = Field(None, description="S3 bucket of the artifacts (assets_backend=s3).")
    s3_endpoint_url: str | None = Field(
        None, description="S3 endpoint URL for S3-compatible stores (MinIO, Ceph, …); unset: AWS.",
    )
    s3_region: str = Field("us-east-1", description="S3 region.")
    s3_access_key_id: SecretStr | None = Field(None, description="S3 access key id; unset: boto3's own chain.")
    s3_secret_access_key: SecretStr | None = Field(None, description="S3 secret access key.")
    s3_prefix: str = Field("", description="Key prefix of every artifact in the bucket (e.g. montage/).")
    s3_serve: Literal["stream", "redirect"] = Field(
        "stream", description="How /assets/… answers on S3: stream through this server (Range supported), "
        "or redirect (307) to a presigned URL clients fetch from the store directly.",
    )
    s3_presign_expiry_s: int = Field(300, ge=1, le=7 * 24 * 3600, description="Lifetime of a presigned URL.")
    llm_base_url: str | None = Field(None, description="OpenAI-compatible chat endpoint for planning.")
    llm_api_key: SecretStr | None = Field(None, description="API key for the chat endpoint.")
    llm_model: str = Field("gpt-4o-mini", description="Chat model name.")
    tts_base_url: str | None = Field(None, description="OpenAI-compatible speech endpoint.")
    tts_api_key: SecretStr | None = Field(None, description="API key for the speech endpoint.")
    tts_model: str = Field("tts-1", description="Speech model name.")
    tts_voice: str = Field("alloy", description="Speech voice.")
    video_upstream_models: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Upstream video models: model name → provider config, JSON "
        "(see docs/videos-api.md). Header values may name env vars as ${NAME}.",
    )
    video_max_wait_s: float = Field(300.0, ge=0, description="Longest a video request may block with `wait`.")
    allowed_roots: list[Path] | None = Field(
        None, description='Folders task file paths and batch folders (target_folders, output_root) must lie '
        'in, JSON list (e.g. ["/srv/docs"]). Default: the data dir and /tmp/uploads.',
    )
    server_health_interval_s: float = Field(
        10.0, gt=0, description="How often the executor's monitor probes each processing server.",
    )
    server_health_timeout_s: float = Field(5.0, gt=0, description="Timeout of one server health probe.")
    server_wait_s: float = Field(
        300.0, ge=0, description="How long batch items wait for a server that went away (offline, maintenance, "
        "disabled), counted from when it went; then the items still waiting fail with SERVER_UNAVAILABLE.",
    )
    batch_timeout_s: float = Field(
        7 * 24 * 3600.0, gt=0, le=30 * 24 * 3600.0, description="Timeout of a whole batch run (its parent job).",
    )
    embedding_base_url: str | None = Field(
        None, description="OpenAI-compatible embeddings endpoint; unset: all-MiniLM-L6-v2 on the CPU, offline.",
    )
    embedding_api_key: SecretStr | None = Field(None, description="API key for the embeddings endpoint.")
    embedding_model: str = Field("all-MiniLM-L6-v2", description="Embedding model name.")
    task_retry_backoff_s: float = Field(
        1.0, gt=0, description="Delay before a task's first retry; doubles each retry (at most 30 s).",
    )
    max_document_bytes: int = Field(100 * 1024 * 1024, ge=1, description="Largest file a task may process.")

    # -- access and limits (docs/auth.md) --------------------------------------------------------
    insecure: bool = Field(
        False, description="Serve with no API keys on a non-loopback address (`montage serve --insecure`). "
        "Without it such a server refuses to start; on a loopback address no keys means open (dev mode).",
    )
    metrics_public: bool = Field(False, description="Answer /metrics without an API key (for a scraper).")
    auth_cache_s: float = Field(
        5.0, gt=0, le=300, description="How long a process trusts what it read about a key (a revocation made "
        "by another process takes effect within this time; by this one, at once).",
    )
    asset_link_secret: SecretStr | None = Field(
        None, description="HMAC secret of signed /assets links. Default: generated once in "
        "<data-dir>/secrets/asset-links (give the same value to every replica not sharing the data dir).",
    )
    asset_link_ttl_s: float = Field(3600.0, gt=0, le=30 * 24 * 3600.0,
                                    description="Lifetime of a signed /assets link when the request names none.")
    rate_limit_per_s: float = Field(
        50.0, ge=0, description="Requests a second one API key may make on average (per process; 0: no limit). "
        "Over it: 429 with Retry-After.",
    )
    rate_limit_burst: int = Field(200, ge=1, description="Requests one API key may make at once above its rate.")
    max_streams_per_key: int = Field(16, ge=1, description="Event streams (SSE) one API key may hold open at once.")
    max_queued_jobs_per_key: int = Field(
        10_000, ge=1, description="Jobs one API key may have waiting in the queue; beyond it submissions get 429.",
    )
    # -- outbound calls and webhooks ---------------------------------------------------------------
    outbound_allow_private: bool = Field(
        True, description="Let montage call loopback and private addresses (on-prem GPU servers, webhooks on "
        "the LAN). Link-local and cloud metadata addresses are refused whatever this says.",
    )
    webhook_secrets: list[SecretStr] = Field(
        default_factory=list, description="Standard Webhooks signing secrets (whsec_<base64>), JSON list; every one "
        "signs each delivery, so a receiver can rotate. Default: one generated in <data-dir>/secrets/webhooks.",
    )
    webhook_max_attempts: int = Field(8, ge=1, le=50, description="Attempts per webhook delivery before it fails.")
    webhook_backoff_s: float = Field(
        1.0, gt=0, description="Wait before a webhook's second attempt; doubles each attempt (at most 10 minutes).",
    )
    webhook_timeout_s: float = Field(10.0, gt=0, description="Timeout of one webhook POST.")
    webhook_poll_interval_s: float = Field(
        0.25, gt=0, description="How often an executor looks for job events to deliver to webhooks.",
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def app_database_url(self) -> str:
        """The app database URL, defaulting to SQLite under the data directory."""
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{self.data_dir / 'montage.db'}"

    @property
    def system_database_url(self) -> str:
        """DBOS's system database: a sibling SQLite file, or the same PostgreSQL database."""
        if self.is_sqlite:
            return f"sqlite:///{self.data_dir / 'dbos.sqlite'}"
        return self.app_database_url

    @property
    def is_sqlite(self) -> bool:
        return self.app_database_url.startswith("sqlite")

    @property
    def assets_dir(self) -> Path:
        return self.data_dir / "assets"

    @property
    def upload_roots(self) -> list[Path]:
        """Resolved folders task file paths may point into (``allowed_roots`` or its default)."""
        roots = self.allowed_roots if self.allowed_roots is not None else [self.data_dir, Path("/tmp/uploads")]
        return [r.expanduser().resolve() for r in roots]

    def resolved_executor_id(self, role: str) -> str:
        """This process's executor id: the configured one, or ``<host>-<role>``."""
        return self.executor_id or ("local" if role == "serve" else f"{socket.gethostname()}-{role}")

    def generator_setting(self, name: str, default: Any = None) -> Any:
        """A setting as generators see it: secrets unwrapped, unknown names → default."""
        value = getattr(self, name, default)
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        return default if value is None else value

    def masked(self) -> dict[str, Any]:
        """Effective settings with secrets masked, for `montage config`."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "********" if value.get_secret_value() else ""
            elif isinstance(value, Path):
                value = str(value)
            out[name] = value
        out["app_database_url"] = mask_url(self.app_database_url)
        return out


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for bare PostgreSQL URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def mask_url(url: str) -> str:
    """Hide the password in a database URL."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url
