"""A reviewer's reject: the stage runs again and writes a visibly different, new version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from montage.generators.builtin.doc import run_doc_video
from montage.generators.builtin.doc.local import DocVideoRun, run_stage

DOC = """# 深度学习入门

## 基础概念
深度学习是机器学习的一个分支，它使用多层神经网络学习数据的表示。它不需要人工设计特征。

- 自动学习特征
- 需要大量数据
  - 通常还需要 GPU

## 神经网络
神经网络的基本结构包括输入层、隐藏层和输出层。

```python
def forward(x):
    return layer(x)
```
"""

JOB = {"content": DOC, "style": "Google 风格", "language": "zh-CN"}
SMALL = {"width": 640, "height": 360}


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> DocVideoRun:
    workdir = tmp_path_factory.mktemp("feedback")
    return run_doc_video(workdir, JOB, configs={"PAGES": SMALL}, until="PAGES")


def _read(workdir: Path, rel: str) -> Any:
    return json.loads((workdir / rel).read_text(encoding="utf-8"))


def _rerun(first: DocVideoRun, stage: str, generator: str, feedback: str, revision: int = 1,
           config: dict[str, Any] | None = None) -> tuple[dict[str, Any], Any]:
    workdir = first.contexts["PLAN"].workdir
    earlier = {k: v for k, v in first.outputs.items() if k != stage}
    return run_stage(stage, generator, workdir, JOB, earlier, feedback=feedback, revision=revision, config=config)


def test_rejected_plan_is_rewritten_in_more_detail_under_a_new_name(first: DocVideoRun) -> None:
    workdir = first.contexts["PLAN"].workdir
    outputs, ctx = _rerun(first, "PLAN", "doc.plan", "计划不够详细，需要补充更多内容")
    assert outputs["plan"] == "plan/plan.v2.json" and outputs["version"] == 2
    old, new = _read(workdir, "plan/plan.json"), _read(workdir, "plan/plan.v2.json")
    assert old["feedback"] is None and new["feedback"] == "计划不够详细，需要补充更多内容"
    assert new["revision"] == 1 and new["detail"] > old["detail"]
    old_points = sum(len(s["key_points"]) for s in old["sections"])
    new_points = sum(len(s["key_points"]) for s in new["sections"])
    assert new_points > old_points
    assert all(s.get("details") for s in new["sections"])
    assert {a.path for a in ctx.artifacts} == {"plan/plan.v2.json"}


def test_rejected_narration_is_longer_and_keeps_the_old_clips(first: DocVideoRun) -> None:
    workdir = first.contexts["PLAN"].workdir
    outputs, _ = _rerun(first, "NARRATION", "doc.narration", "旁白太简单了")
    old = _read(workdir, first.outputs["NARRATION"]["narration"])
    new = _read(workdir, outputs["narration"])
    assert outputs["narration"] == "narration/narration.v2.json"
    assert new["feedback"] == "旁白太简单了" and old["feedback"] is None
    assert sum(len(s["script"]) for s in new["slides"]) > sum(len(s["script"]) for s in old["slides"]) * 1.2
    assert new["total_duration_s"] > old["total_duration_s"]
    for old_clip, new_clip in zip(old["slides"], new["slides"], strict=True):
        assert new_clip["audio"].endswith(".v2.wav") and new_clip["audio"] != old_clip["audio"]
        assert (workdir / old_clip["audio"]).exists() and (workdir / new_clip["audio"]).exists()


def test_rejected_pages_get_another_layout_in_new_files(first: DocVideoRun) -> None:
    workdir = first.contexts["PLAN"].workdir
    outputs, _ = _rerun(first, "PAGES", "doc.pages", "版式太单调", config=SMALL)
    before = first.outputs["PAGES"]
    assert outputs["layout"] != before["layout"]
    assert outputs["pages"] == "pages/pages.v2.json"
    assert _read(workdir, outputs["pages"])["feedback"] == "版式太单调"
    for old_rel, new_rel in zip(before["images"], outputs["images"], strict=True):
        assert new_rel != old_rel and (workdir / old_rel).exists()
        with Image.open(workdir / old_rel) as a, Image.open(workdir / new_rel) as b:
            difference = np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).mean()
        assert difference > 5, f"{new_rel} looks the same as {old_rel}"


def test_feedback_naming_a_theme_switches_to_it(first: DocVideoRun) -> None:
    outputs, ctx = _rerun(first, "PAGES", "doc.pages", "请换成深色主题", revision=2, config=SMALL)
    assert outputs["theme"] == "dark" and outputs["images"][0].endswith(".v3.png")
    assert any("dark" in text for _, text in ctx.logs)


def test_render_and_merge_use_the_latest_versions(first: DocVideoRun) -> None:
    workdir = first.contexts["PLAN"].workdir
    outputs = dict(first.outputs)
    outputs["NARRATION"], _ = _rerun(first, "NARRATION", "doc.narration", "更详细", revision=1)
    outputs["PAGES"], _ = _rerun(first, "PAGES", "doc.pages", "换布局", revision=1, config=SMALL)
    render, _ = run_stage("RENDER", "doc.render", workdir, JOB, outputs)
    timeline = _read(workdir, render["segments"])
    assert all(".v2." in s["image"] for s in timeline["segments"])
    assert render["duration_s"] == pytest.approx(outputs["NARRATION"]["total_duration_s"], abs=1e-3)
