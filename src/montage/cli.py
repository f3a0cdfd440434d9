"""The ``montage`` command: run the server and workers, and talk to a server over HTTP."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from montage.cli_keys import keys_app, keys_configured
from montage.client import ApiError, MontageClient
from montage.settings import Settings

app = typer.Typer(help="montage: durable generative-media jobs.", no_args_is_help=True)
jobs_app = typer.Typer(help="List and inspect jobs.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
console = Console()
err = Console(stderr=True)

ServerOpt = Annotated[str, typer.Option("--server", envvar="MONTAGE_SERVER", help="Server base URL.")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Data folder (MONTAGE_DATA_DIR).")]
DbOpt = Annotated[str | None, typer.Option("--database-url", help="Database URL (MONTAGE_DATABASE_URL).")]
DEFAULT_SERVER = "http://127.0.0.1:8000"


def _settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _client(server: str) -> MontageClient:
    """A client of ``server``, with the API key in MONTAGE_API_KEY if there is one."""
    return MontageClient(server, token=os.environ.get("MONTAGE_API_KEY") or None)


def _fail(exc: ApiError) -> None:
    err.print(f"[red]error {exc.status} {exc.code}[/red]: {exc.message}")
    if exc.details:
        err.print(json.dumps(exc.details, ensure_ascii=False))
    raise typer.Exit(1)


# -- processes ---------------------------------------------------------------------------
def configure_logging(level: str) -> None:
    """The process's log format and level. The HTTP clients' per-request lines (one for every
    upstream status poll, every webhook) only show at DEBUG."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level.upper() != "DEBUG":
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="API only; executors run elsewhere.")] = False,
    insecure: Annotated[bool, typer.Option("--insecure", help="Allow serving a non-loopback address with "
                                           "no API keys (everyone may do everything).")] = False,
) -> None:
    """Run the API (and, unless --no-worker, an executor) in this process."""
    import uvicorn

    from montage.api.app import create_app
    from montage.api.auth import is_loopback
    from montage.services.runtime import settle_process, tune_process

    settings = _settings(host=host, port=port, data_dir=data_dir, database_url=database_url,
                         run_worker=False if no_worker else None, insecure=insecure or None)
    configure_logging(settings.log_level)
    tune_process(settings)
    if not is_loopback(settings.host) and not settings.insecure and not keys_configured(settings):
        err.print(f"[red]refusing to serve {settings.host} with no API keys[/red]: anyone who reaches it could "
                  "do anything. Create a key first (`montage keys create --name admin --scope admin`), serve "
                  "on 127.0.0.1, or pass --insecure to accept that.")
        raise typer.Exit(2)
    url = f"http://{settings.host}:{settings.port}"
    err.print(f"montage serving on [bold]{url}[/bold]  (API docs {url}/docs, dashboard {url}/ui)")
    err.print(f"data in {settings.data_dir}; database {settings.masked()['app_database_url']}")
    uvicorn.run(create_app(settings, on_ready=settle_process), host=settings.host, port=settings.port,
                log_level="warning", timeout_graceful_shutdown=5)


@app.command()
def worker(
    data_dir: DataDirOpt = None,
    database_url: DbOpt = None,
    executor_id: Annotated[str | None, typer.Option(help="Stable id; a restart recovers its jobs.")] = None,
    labels: Annotated[str | None, typer.Option(help="Executor labels, comma-separated (e.g. gpu,cpu).")] = None,
) -> None:
    """Run an executor that takes jobs from the shared PostgreSQL database. SIGTERM stops taking
    jobs, lets running stages finish for up to MONTAGE_SHUTDOWN_GRACE_S, then exits."""
    from montage.engine.runtime import Engine
    from montage.services.runtime import Runtime, settle_process, tune_process

    label_list = [x.strip() for x in labels.split(",") if x.strip()] if labels is not None else None
    settings = _settings(data_dir=data_dir, database_url=database_url, executor_id=executor_id,
                         executor_labels=label_list)
    if settings.is_sqlite:
        err.print("[red]montage worker needs a PostgreSQL database[/red]: on SQLite the executor runs "
                  "inside `montage serve`. Set --database-url postgresql://… (or MONTAGE_DATABASE_URL).")
        raise typer.Exit(2)
    configure_logging(settings.log_level)
    tune_process(settings)
    runtime = Runtime.open(settings)
    engine = Engine(runtime, role="worker", executes=True)
    engine.launch()
    settle_process()
    err.print(f"montage worker {engine.executor_id} running (labels: {', '.join(engine.labels) or 'none'}); "
              "Ctrl-C to stop")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    left = engine.drain(settings.shutdown_grace_s)
    err.print(f"montage worker {engine.executor_id} stopped; {left} running stage(s) left for another executor")
    runtime.close()
    sys.stderr.flush()
    # Workflows held before their next stage (or past the grace period) still occupy DBOS's
    # non-daemon threads; their state is durable and another executor resumes them.
    os._exit(0)


@app.command()
def config(data_dir: DataDirOpt = None, database_url: DbOpt = None) -> None:
    """Print the effective settings (secrets masked)."""
    settings = _settings(data_dir=data_dir, database_url=database_url)
    table = Table("setting", "env", "value", "description")
    described = type(settings).model_fields
    for name, value in settings.masked().items():
        info = described.get(name)
        table.add_row(name, f"MONTAGE_{name.upper()}" if info else "", json.dumps(value, default=str),
                      (info.description or "") if info else "derived")
    console.print(table)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDirOpt = None, database_url: DbOpt = None) -> None:
    """Migrate the app tables to the newest version."""
    from montage.store.db import upgrade_database

    settings = _settings(data_dir=data_dir, database_url=database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings.app_database_url)
    console.print("database is up to date")


# -- client commands -------------------------------------------------------------------------
@app.command()
def submit(
    pipeline: Annotated[str, typer.Argument(help="Pipeline name (see `montage pipelines`).")],
    input_json: Annotated[str | None, typer.Option("--input", help="Input as JSON, or @file.json.")] = None,
    priority: Annotated[str, typer.Option(help="low, normal, high or critical.")] = "normal",
    timeout: Annotated[float | None, typer.Option(help="Timeout in seconds.")] = None,
    schedule_for: Annotated[str | None, typer.Option(help="ISO 8601 start time.")] = None,
    idempotency_key: Annotated[str | None, typer.Option(help="Same key, same job.")] = None,
    watch_job: Annotated[bool, typer.Option("--watch", help="Follow the job until it ends.")] = False,
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """Submit a job and print its id."""
    job_input: dict[str, Any] = {}
    if input_json:
        text = Path(input_json[1:]).read_text(encoding="utf-8") if input_json.startswith("@") else input_json
        try:
            job_input = json.loads(text)
        except json.JSONDecodeError as exc:
            err.print(f"[red]--input is not valid JSON[/red]: {exc}")
            raise typer.Exit(2) from None
    with _client(server) as client:
        try:
            job = client.submit(pipeline, job_input, priority=priority, timeout_s=timeout,
                                schedule_for=schedule_for, idempotency_key=idempotency_key)
        except ApiError as exc:
            _fail(exc)
            return
    console.print(job["id"])
    if watch_job:
        watch(job["id"], server=server)


@jobs_app.command("list")
def jobs_list(
    status: Annotated[list[str] | None, typer.Option(help="Filter by status (repeatable).")] = None,
    pipeline: Annotated[str | None, typer.Option(help="Filter by pipeline.")] = None,
    limit: Annotated[int, typer.Option(help="Page size.")] = 20,
    offset: Annotated[int, typer.Option(help="Skip this many.")] = 0,
    server: ServerOpt = DEFAULT_SERVER,
) -> None:
    """List jobs, newest first."""
    with _client(server) as client:
        try:
            page = client.jobs(status=status, pipeline=pipeline, limit=limit, offset=offset)
        except ApiError as exc:
            _fail(exc)
            return
    table = Table("id", "pipeline", "status", "stage", "progress", "created")
    for job in page["jobs"]:
        table.add_row(job["id"], job["pipeline"], job["status"], job["stage"] or "",
                      f"{job['progress']:.0f}%", job["created_at"])
    console.print(table)
    console.print(f"{offset + len(page['jobs'])} of {page['total']}")


@jobs_app.command("show")
def jobs_show(job_id: str, server: ServerOpt = DEFAULT_SERVER) -> None:
    """Print one job as JSON."""
    with _client(server) as client:
        try:
            console.print_json(json.dumps(client.job(job_id), ensure_ascii=False))
        except ApiError as exc:
            _fail(exc)


@app.command()
def pipelines(server: ServerOpt = DEFAULT_SERVER) -> None:
    """List the pipelines the server runs."""
    with _client(server) as client:
        for p in client.pipelines():
            gates = [s["name"] for s in p["stages"] if s["approval"]]
            stages = " → ".join(s["name"] for s in p["stages"])
            console.print(f"[bold]{p['name']}[/bold] v{p['version']}: {stages}"
                          + (f"  (gates: {', '.join(gates)})" if gates else ""))


_EXIT = {"SUCCEEDED": 0, "FAILED": 1, "CANCELED": 3}


@app.command()
def watch(job_id: str, server: ServerOpt = DEFAULT_SERVER) -> None:
    """Follow a job live: progress bar, stage and log lines. Exit 0 on success, 1 on failure,
    3 if canceled."""
    with _client(server) as client:
        try:
            job = client.job(job_id)
        except ApiError as exc:
            _fail(exc)
            return
        status = _follow(client, job)
    console.print(f"{job_id} {status}")
    raise typer.Exit(_EXIT.get(status, 1))


def _follow(client: MontageClient, job: dict[str, Any]) -> str:
    if job["status"] in _EXIT:
        return str(job["status"])
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(job["stage"] or job["status"], total=100, completed=job["progress"])
        for event in client.events(job["id"]):
            if event.get("progress") is not None:
                bar.update(task, completed=event["progress"])
            if event.get("stage") or event.get("status"):
                bar.update(task, description=f"{event.get('status') or ''} {event.get('stage') or ''}".strip())
            if event["kind"] in ("log", "approval", "failed", "canceled") or event["status"] == "WAITING_APPROVAL":
                bar.console.print(f"[dim]{event['ts']}[/dim] {event['kind']}: {event['message']}")
    return str(client.job(job["id"])["status"])


@app.command()
def approve(job_id: str, stage: Annotated[str, typer.Option(help="The stage waiting for approval.")],
            comment: Annotated[str | None, typer.Option(help="A note kept with the decision.")] = None,
            server: ServerOpt = DEFAULT_SERVER) -> None:
    """Approve the stage a job waits on."""
    _decide(server, lambda c: c.approve(job_id, stage, comment))


@app.command()
def reject(job_id: str, stage: Annotated[str, typer.Option(help="The stage waiting for approval.")],
           reason: Annotated[str, typer.Option(help="Why; handed to the stage as feedback.")],
           comment: Annotated[str | None, typer.Option(help="A note kept with the decision.")] = None,
           server: ServerOpt = DEFAULT_SERVER) -> None:
    """Reject the stage a job waits on; it runs again with the reason as feedback."""
    _decide(server, lambda c: c.reject(job_id, stage, reason, comment))


@app.command()
def cancel(job_id: str, server: ServerOpt = DEFAULT_SERVER) -> None:
    """Cancel a job that has not ended."""
    _decide(server, lambda c: c.cancel(job_id))


@app.command()
def retry(job_id: str, server: ServerOpt = DEFAULT_SERVER) -> None:
    """Run a FAILED or CANCELED job again from the stage that stopped."""
    _decide(server, lambda c: c.retry(job_id))


def _decide(server: str, call: Any) -> None:
    with _client(server) as client:
        try:
            job = call(client)
        except ApiError as exc:
            _fail(exc)
            return
    console.print(f"{job['id']} {job['status']} {job['stage'] or ''}".rstrip())


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
