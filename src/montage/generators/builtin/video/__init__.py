"""Text (and first/last frame) to video, offline: ``video.render`` and the upstream stages.

``video.render`` makes a real H.264 MP4 from a prompt on the CPU. The scene is painted once,
in depth layers (sky, far, near), by the media scene painter (:mod:`..media.scene`); each
frame then only moves those layers (a camera pan with parallax and a zoom), adds animated
weather and light over them, and hands the YUV planes to x264. Given first/last frame
images, the video starts on the first and ends on the last.

- :mod:`.spec`      sizes by ratio × resolution, frame rate
- :mod:`.words`     what the prompt asks for: scene (via the media prompt reader, with Chinese
  words understood), camera move, light effects
- :mod:`.layers`    the painted depth layers, as YUV planes with alpha
- :mod:`.camera`    where the camera is at each frame
- :mod:`.compositor` frame = layers cropped, blended and scaled for the camera
- :mod:`.effects`   rain, snow, fog, lightning, flicker, sunrise/sunset light, vignette
- :mod:`.frames`    first/last frame pictures and the transition between them
- :mod:`.render`    the frame loop and the MP4
- :mod:`.generator` the ``video.render`` stage
- :mod:`.upstream`  the ``video.upstream_submit`` / ``video.upstream_poll`` stages (network:
  they drive :mod:`montage.generators.remote.upstream_video`, registered here so a worker
  that loads the built-ins has them)
"""
