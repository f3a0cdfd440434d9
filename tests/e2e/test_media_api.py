"""The web media jobs API as its users call it: use cases A and B, SSE with reconnection."""

from __future__ import annotations

import json
import wave
from itertools import groupby
from typing import Any

import av
import httpx
from httpx_sse import connect_sse
from PIL import Image

from tests.support.server import ServerProcess
from tests.support.waiting import wait_for


def read_events(http: httpx.Client, job_id: str, last_event_id: str | None = None,
                stop_after: int | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    events: list[tuple[str, str, dict[str, Any]]] = []
    with connect_sse(http, "GET", f"/api/jobs/{job_id}/events", headers=headers,
                     timeout=httpx.Timeout(60, read=120)) as source:
        for sse in source.iter_sse():
            if not sse.data:  # the stream's opening "retry:" line carries no event
                continue
            events.append((sse.id, sse.event, json.loads(sse.data)))
            if stop_after is not None and len(events) >= stop_after:
                break
    return events


def collapsed(kinds: list[str]) -> list[str]:
    return [k for k, _ in groupby(k for k in kinds if k != "log")]


def test_use_case_a_motion_and_music_with_sse(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        body = {"prompt": "A fighter performs a fast combo, upbeat electronic music",
                "options": {"targets": ["motion", "music"], "duration_s": 8}}
        job_id = http.post("/api/jobs", json=body).json()["job_id"]
        events = read_events(http, job_id)
        kinds = collapsed([e[1] for e in events])
        assert kinds == ["status", "asset", "status", "asset", "done"], kinds
        assets = [e[2]["payload"] for e in events if e[1] == "asset"]
        assert [a["path"] for a in assets] == [f"/assets/{job_id}/motion/motion.bvh",
                                               f"/assets/{job_id}/music/music.wav"]
        assert [a["mime"] for a in assets] == ["text/plain", "audio/wav"]
        for _, _, data in events:
            assert data["job_id"] == job_id and data["ts"].endswith("Z") and "payload" in data
            assert isinstance(data.get("progress", 0), int | float), data  # optional, a number when present
        assert events[-1][2]["payload"] == {"manifest_url": f"/assets/{job_id}/manifest.json"}
        status = http.get(f"/api/jobs/{job_id}").json()
        assert status["status"] == status["stage"] == "DONE" and status["progress"] == 100
        assert [a["role"] for a in status["assets"]] == ["motion", "music"] and status["ended_at"]
        wav = http.get(f"/assets/{job_id}/music/music.wav")
        assert wav.headers["content-type"] == "audio/wav"
        path = server.data_dir / "assets" / job_id / "music" / "music.wav"
        with wave.open(str(path)) as w:
            assert (w.getframerate(), w.getnchannels()) == (44100, 2)
            assert w.getnframes() == 8 * 44100
        manifest = http.get(f"/assets/{job_id}/manifest.json").json()
        assert {"motion/motion.bvh", "music/music.wav"} <= {a["file"] for a in manifest["assets"]}


def test_use_case_b_scene_without_export_and_reconnect(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        body = {"prompt": "A cyberpunk dojo in heavy rain, samurai training, epic music",
                "options": {"targets": ["scene", "motion", "music"], "duration_s": 12, "export_video": False}}
        job_id = http.post("/api/jobs", json=body).json()["job_id"]
        first = read_events(http, job_id, stop_after=3)
        rest = read_events(http, job_id, last_event_id=first[-1][0])
        ids = [int(e[0]) for e in first + rest]
        assert ids == sorted(ids) and len(ids) == len(set(ids))
        assert [int(e[0]) for e in read_events(http, job_id)] == ids
        stages = [e[2]["stage"] for e in first + rest if e[1] == "status"]
        for word in ("RUNNING_SCENE", "RUNNING_MOTION", "RUNNING_MUSIC"):
            assert word in stages
        assert "EXPORTING_VIDEO" not in stages and (first + rest)[-1][1] == "done"
        status = http.get(f"/api/jobs/{job_id}").json()
        assert [a["path"] for a in status["assets"]] == [f"/assets/{job_id}/scene/scene.png",
                                                         f"/assets/{job_id}/motion/motion.bvh",
                                                         f"/assets/{job_id}/music/music.wav"]
        scene = Image.open(server.data_dir / "assets" / job_id / "scene" / "scene.png")
        assert scene.size == (1920, 1080)


def test_export_is_h264_aac_and_errors_name_the_field(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        body = {"prompt": "A warrior dashes forward and slashes the enemy, epic orchestral music",
                "options": {"targets": ["scene", "motion", "music"], "duration_s": 3, "style": "cinematic",
                            "mood": "epic"}}
        job_id = http.post("/api/jobs", json=body).json()["job_id"]
        done = wait_for(lambda: (s := http.get(f"/api/jobs/{job_id}").json())["status"] in ("DONE", "FAILED") and s,
                        timeout=120, interval=0.3, what="export")
        assert done["status"] == "DONE", done
        assert {"preview", "export"} <= {a["role"] for a in done["assets"]}
        with av.open(str(server.data_dir / "assets" / job_id / "export" / "export.mp4")) as container:
            assert {s.type: s.codec_context.name for s in container.streams} == {"video": "h264", "audio": "aac"}
            assert abs(float(container.duration / 1e6) - 3) < 0.15
        for bad, field in [({"prompt": "x", "options": {"targets": ["hologram"]}}, "targets"),
                           ({"prompt": "x", "options": {"duration_s": 0}}, "duration_s"),
                           ({"prompt": "x", "options": {"duration_s": 100000}}, "duration_s"),
                           ({"prompt": "   "}, "prompt"),
                           ({"prompt": 5}, "prompt"),
                           ({"prompt": "x", "options": {"duration_s": True}}, "duration_s"),
                           ({"prompt": "x", "options": {"duration_s": "12"}}, "duration_s"),
                           ({"prompt": "x", "options": {"export_video": "yes"}}, "export_video")]:
            response = http.post("/api/jobs", json=bad)
            assert response.status_code in (400, 422), (bad, response.text)
            detail = response.json()["detail"][0]
            assert detail["loc"][0] == "body" and field in detail["loc"], (bad, response.text)
            assert not detail["msg"].startswith("Value error"), detail
        query = http.get("/api/jobs", params={"limit": 0}).json()["detail"][0]
        assert query["loc"] == ["query", "limit"], query
        assert http.get("/api/jobs/job_nope").status_code == 404
        assert http.get("/api/jobs").json()["total"] == 1
