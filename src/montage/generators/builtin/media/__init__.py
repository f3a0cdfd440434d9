"""Built-in generators of the web-media pipeline: prompt → scene, motion, music, preview, export.

Every stage first reads the prompt the same way (:mod:`.prompt`), so each one can run on
its own (or on another machine) and still agree with the others about setting, mood and
actions. Files, all deterministic for the job's seed:

- ``media.scene``   → ``scene/scene.png``   (:mod:`.scene`)
- ``media.motion``  → ``motion/motion.bvh`` (:mod:`.motion`)
- ``media.music``   → ``music/music.wav``   (:mod:`.music`)
- ``media.preview`` → ``preview/preview.mp4`` and ``media.export`` → ``export/export.mp4``
  (:mod:`.video_stages`)

The job input model and the stage order are in :mod:`.input`.
"""
