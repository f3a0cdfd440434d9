"""HTTP routes of the fake ComfyUI, with ComfyUI's paths, parameters and answers (server.py)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from tests.support.fake_comfyui import FakeComfyUI


async def _json_or_empty(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class _Routes:
    def __init__(self, server: FakeComfyUI) -> None:
        self.server = server

    async def get_prompt(self, request: Request) -> Response:
        return JSONResponse(self.server.queue_info())

    async def post_prompt(self, request: Request) -> Response:
        status, body = self.server.submit(await request.json())
        return JSONResponse(body, status_code=status)

    async def get_queue(self, request: Request) -> Response:
        running, pending = self.server.queue.current()
        return JSONResponse({"queue_running": [list(i) for i in running],
                             "queue_pending": [list(i) for i in pending]})

    async def post_queue(self, request: Request) -> Response:
        body = await request.json()
        if body.get("clear"):
            self.server.queue.wipe()
        for prompt_id in body.get("delete", []):
            self.server.queue.delete(prompt_id)
        return Response(status_code=200)

    async def post_interrupt(self, request: Request) -> Response:
        self.server.interrupt((await _json_or_empty(request)).get("prompt_id"))
        return Response(status_code=200)

    async def get_history(self, request: Request) -> Response:
        max_items = request.query_params.get("max_items")
        offset = int(request.query_params.get("offset", -1))
        limit = int(max_items) if max_items else None
        return JSONResponse(self.server.queue.history(max_items=limit, offset=offset))

    async def get_history_item(self, request: Request) -> Response:
        return JSONResponse(self.server.queue.history(prompt_id=request.path_params["prompt_id"]))

    async def post_history(self, request: Request) -> Response:
        body = await request.json()
        if body.get("clear"):
            self.server.queue.delete_history()
        for prompt_id in body.get("delete", []):
            self.server.queue.delete_history(prompt_id)
        return Response(status_code=200)

    async def view(self, request: Request) -> Response:
        return _view(self.server, dict(request.query_params))

    async def upload_image(self, request: Request) -> Response:
        return await _upload(self.server, await request.form())

    async def system_stats(self, request: Request) -> Response:
        return JSONResponse(_system_stats())


def routes_for(server: FakeComfyUI) -> list[Route]:
    r = _Routes(server)
    return [
        Route("/prompt", r.get_prompt, methods=["GET"]), Route("/prompt", r.post_prompt, methods=["POST"]),
        Route("/queue", r.get_queue, methods=["GET"]), Route("/queue", r.post_queue, methods=["POST"]),
        Route("/interrupt", r.post_interrupt, methods=["POST"]),
        Route("/history", r.get_history, methods=["GET"]),
        Route("/history", r.post_history, methods=["POST"]),
        Route("/history/{prompt_id}", r.get_history_item, methods=["GET"]),
        Route("/view", r.view, methods=["GET"]), Route("/upload/image", r.upload_image, methods=["POST"]),
        Route("/system_stats", r.system_stats, methods=["GET"]),
    ]


def _folder(server: FakeComfyUI, kind: str | None) -> str | None:
    folders = {"input": server.input_dir, "output": server.output_dir, "temp": server.temp_dir}
    folder = folders.get(kind or "output")
    return os.path.abspath(folder) if folder is not None else None


def _view(server: FakeComfyUI, query: dict[str, str]) -> Response:
    filename = query.get("filename")
    if filename is None:
        return Response(status_code=404)
    if not filename or filename[0] == "/" or ".." in filename:
        return Response(status_code=400)
    folder = _folder(server, query.get("type", "output"))
    if folder is None:
        return Response(status_code=400)
    if "subfolder" in query:
        full = os.path.join(folder, query["subfolder"])
        if os.path.commonpath((os.path.abspath(full), folder)) != folder:
            return Response(status_code=403)
        folder = full
    path = os.path.join(folder, os.path.basename(filename))
    if not os.path.isfile(path):
        return Response(status_code=404)
    return FileResponse(path, headers={"Content-Disposition": f'filename="{os.path.basename(path)}"'})


async def _upload(server: FakeComfyUI, form: Any) -> Response:
    image = form.get("image")
    if not isinstance(image, UploadFile) or not image.filename:
        return Response(status_code=400)
    kind = form.get("type") or "input"
    folder = _folder(server, kind)
    subfolder = str(form.get("subfolder") or "")
    if folder is None:
        return Response(status_code=400)
    target_dir = os.path.join(folder, os.path.normpath(subfolder))
    content = await image.read()
    filename = image.filename
    path = os.path.abspath(os.path.join(target_dir, filename))
    if os.path.commonpath((folder, path)) != folder:
        return Response(status_code=400)
    os.makedirs(target_dir, exist_ok=True)
    if str(form.get("overwrite")) not in ("true", "1"):
        filename, path = _free_name(target_dir, filename, content)
    if not os.path.exists(path) or str(form.get("overwrite")) in ("true", "1"):
        with open(path, "wb") as fh:
            fh.write(content)
    return JSONResponse({"name": filename, "subfolder": subfolder, "type": kind})


def _free_name(folder: str, filename: str, content: bytes) -> tuple[str, str]:
    """ComfyUI's naming: keep an identical file, else ``name (1).ext``, ``name (2).ext``…"""
    stem, ext = os.path.splitext(filename)
    path, i = os.path.join(folder, filename), 1
    digest = hashlib.sha256(content).hexdigest()
    while os.path.exists(path):
        with open(path, "rb") as fh:
            if hashlib.sha256(fh.read()).hexdigest() == digest:
                break
        filename = f"{stem} ({i}){ext}"
        path, i = os.path.join(folder, filename), i + 1
    return filename, path


def _system_stats() -> dict[str, Any]:
    return {
        "system": {"os": os.name, "ram_total": 0, "ram_free": 0, "comfyui_version": "0.3.64-fake",
                   "python_version": sys.version, "pytorch_version": "none", "embedded_python": False,
                   "argv": ["main.py"]},
        "devices": [{"name": "cpu", "type": "cpu", "index": None, "vram_total": 0, "vram_free": 0,
                     "torch_vram_total": 0, "torch_vram_free": 0}],
    }
