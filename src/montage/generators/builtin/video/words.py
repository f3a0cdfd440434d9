"""What a video prompt asks for: the scene, the camera move, and light effects.

The scene (setting, time of day, weather, style, mood) is read by the media prompt reader
(:func:`~..media.prompt.analyse_prompt`), which knows English words; Chinese prompts are
understood by adding the English word for each Chinese one found (:data:`CHINESE_WORDS`),
so "雨夜的城市街道" paints the same scene as "city street, rainy night".

Camera moves and light effects are phrases matched as regular expressions
(:data:`CAMERA_CUES`, :data:`LIGHT_CUES`); the first camera cue in the table that matches
wins, and with none the camera pans slowly in a direction chosen by the seed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from montage.generators.builtin.media.prompt import PromptAnalysis, analyse_prompt

#: Chinese word → English words the media prompt reader knows.
CHINESE_WORDS: dict[str, str] = {
    "城市": "city", "街道": "street", "街头": "street", "都市": "city", "森林": "forest", "树林": "forest",
    "丛林": "jungle", "沙漠": "desert", "海滩": "beach", "海边": "beach", "大海": "ocean", "海洋": "ocean",
    "雪山": "mountain", "山峰": "mountain", "山脉": "mountain", "高山": "mountain", "山谷": "valley",
    "太空": "space", "宇宙": "galaxy", "星球": "planet", "战场": "battlefield", "草原": "prairie",
    "田野": "field", "草地": "meadow", "寺庙": "temple", "道场": "dojo",
    "夜晚": "night", "夜": "night", "月光": "moonlit", "星空": "starry night", "日出": "sunrise",
    "黎明": "dawn", "清晨": "morning", "早晨": "morning", "黄昏": "dusk", "日落": "sunset", "夕阳": "sunset",
    "傍晚": "evening", "白天": "day", "中午": "noon", "阳光": "sunny",
    "暴雨": "heavy rain", "大雨": "heavy rain", "小雨": "light rain", "细雨": "drizzle", "雷雨": "storm",
    "雨": "rain", "暴雪": "blizzard", "大雪": "heavy snow", "小雪": "light snow", "雪": "snow",
    "浓雾": "dense fog", "雾": "fog", "烟": "smoke",
    "赛博朋克": "cyberpunk", "霓虹": "neon", "电影感": "cinematic", "电影": "cinematic", "动漫": "anime",
    "卡通": "cartoon", "黑白": "noir", "油画": "painting", "水彩": "watercolor",
    "史诗": "epic", "宁静": "calm", "平静": "calm", "悲伤": "sad", "神秘": "mysterious", "浪漫": "romantic",
    "欢快": "happy", "紧张": "tense",
}

#: Camera move → what asks for it (first match in this order wins).
CAMERA_CUES: dict[str, re.Pattern[str]] = {
    "static": re.compile(r"static|still camera|locked[- ]off|tripod|固定镜头|镜头静止|静止镜头"),
    "zoom_out": re.compile(r"zoom(?:s|ing)? out|pull(?:s|ing)? (?:back|out)|dolly out|拉远|镜头后退|缩小"),
    "zoom_in": re.compile(r"zoom(?:s|ing)? in|push(?:es|ing)? in|dolly in|close[- ]?up|推进|推近|拉近|放大"),
    "pan_left": re.compile(r"pan(?:s|ning)? (?:to the )?left|leftward|向左|左移|左摇"),
    "pan_right": re.compile(r"pan(?:s|ning)? (?:to the )?right|rightward|向右|右移|右摇"),
    "orbit": re.compile(r"orbit|tracking shot|dolly|truck(?:ing)?|环绕|跟随|跟拍|横移"),
}

#: Light effect → what asks for it (every match counts).
LIGHT_CUES: dict[str, re.Pattern[str]] = {
    "lightning": re.compile(r"lightning|thunder|storm|闪电|雷"),
    "flicker": re.compile(r"flicker|candle|torch|neon|fire|闪烁|烛|火光|霓虹"),
    "sunrise": re.compile(r"sunrise|dawn|daybreak|日出|黎明|破晓"),
    "sunset": re.compile(r"sunset|dusk|nightfall|日落|黄昏|夕阳"),
    "rays": re.compile(r"light rays|sun ?beams?|god ?rays|sun rays|beams? of light|光束|光芒|阳光穿"),
}


@dataclass(frozen=True)
class CameraMove:
    """How the camera moves over the clip: a pan (fraction of the width) and a zoom."""

    kind: str
    direction: int  # +1 the view moves right, -1 left
    pan: float  # how far, as a fraction of the frame width
    zoom_from: float
    zoom_to: float


@dataclass(frozen=True)
class VideoBrief:
    """Everything the renderer reads from a prompt."""

    analysis: PromptAnalysis
    camera: CameraMove
    lights: frozenset[str]


def english_hints(prompt: str) -> str:
    """The English words for the Chinese words in ``prompt``, in the prompt's order (longest words
    win where they overlap), so "first mention wins" works as it does for English."""
    found: list[tuple[int, str]] = []
    taken = [False] * len(prompt)
    for word in sorted(CHINESE_WORDS, key=len, reverse=True):
        start = prompt.find(word)
        while start >= 0:
            span = range(start, start + len(word))
            if not any(taken[i] for i in span):
                found.append((start, CHINESE_WORDS[word]))
                for i in span:
                    taken[i] = True
            start = prompt.find(word, start + 1)
    return " ".join(english for _, english in sorted(found))


def camera_move(text: str, speed: float, seed: int) -> CameraMove:
    """The camera move the prompt asks for, or a slow pan (zooms only when asked: they cost a rescale)."""
    kind = next((name for name, cue in CAMERA_CUES.items() if cue.search(text)), "default")
    direction = -1 if kind == "pan_left" else 1 if kind == "pan_right" else (1 if seed % 2 else -1)
    pan = {"static": 0.0, "zoom_in": 0.02, "zoom_out": 0.02, "orbit": 0.1}.get(kind, 0.07) * speed
    zoom = {"zoom_in": (1.0, 1.14), "zoom_out": (1.14, 1.0)}.get(kind, (1.0, 1.0))
    return CameraMove(kind=kind, direction=direction, pan=min(pan, 0.1), zoom_from=zoom[0], zoom_to=zoom[1])


def read_brief(prompt: str, seed: int) -> VideoBrief:
    """Scene, camera and lights for ``prompt`` (English or Chinese)."""
    text = f"{prompt} {english_hints(prompt)}".strip()
    analysis = analyse_prompt(text)
    lowered = text.lower()
    lights = frozenset(name for name, cue in LIGHT_CUES.items() if cue.search(lowered))
    if analysis.weather == "rain" and analysis.weather_intensity >= 0.95:
        lights |= {"lightning"}
    return VideoBrief(analysis=analysis, camera=camera_move(lowered, analysis.speed, seed), lights=lights)
