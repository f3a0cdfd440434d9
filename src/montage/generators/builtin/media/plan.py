"""``media.plan``: read the prompt once and write what every later stage will make.

The plan (setting, time of day, weather, palette, actions, music brief, and the stages
that will run) is written to ``plan/plan.json`` so a person — or the dashboard — can see
how montage understood the prompt before the files arrive.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.builtin.media.common import load_job
from montage.generators.builtin.media.input import media_stages
from montage.generators.registry import register


class PlanConfig(GeneratorConfig):
    pass


@register
class MediaPlanGenerator:
    name: ClassVar[str] = "media.plan"
    Config: ClassVar[type[GeneratorConfig]] = PlanConfig

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        job, analysis = load_job(ctx)
        ctx.progress(30, "Understanding the prompt")
        plan = {
            "prompt": job.prompt,
            "duration_s": job.options.duration_s,
            "targets": list(job.options.targets),
            "export_video": job.options.export_video,
            "stages": media_stages(job.options),
            "analysis": analysis.to_dict(),
        }
        path = ctx.path("plan/plan.json")
        path.write_text(json.dumps(plan, ensure_ascii=False, indent=2), encoding="utf-8")
        ctx.add_artifact("plan/plan.json", role="plan", mime="application/json")
        music = analysis.music
        ctx.log(f"{analysis.setting}, {analysis.time_of_day}, {analysis.weather}; "
                f"actions: {', '.join(analysis.actions) or 'idle'}; music: {music.genre} {music.tempo_bpm} bpm")
        return {"path": "plan/plan.json", "stages": plan["stages"]}
