"""Reads a prompt (plus the job's style and mood) into what the media stages need.

Deterministic and table-driven: every decision below is a lookup in one of the keyword
tables of this module, so what a word does can be read (and changed) in one place.

A table entry matches the word itself and its usual inflections (:data:`SUFFIXES`, with a
doubled last consonant or a dropped final ``e``): ``"dash"`` matches ``dashes`` and
``dashing``, ``"run"`` matches ``running``, ``"dance"`` matches ``dancing``, ``"fog"``
matches ``foggy``; an exact entry beats an inflected match. Where tables compete:

- **setting**: every matching word adds its weight (place nouns 2, hints such as
  ``samurai`` or ``enemy`` 1); the highest total wins, the earliest word breaks ties; with
  no match the style's default (:data:`STYLE_DEFAULT_SETTING`) or ``plains``.
- **weather intensity**: a word of :data:`INTENSITY_WORDS` at most two words before the
  weather word (or the weather word itself, e.g. ``drizzle``), else 0.7.
- **time of day / weather / style / mood / genre**: the first matching word wins; the
  job's ``style`` and ``mood`` options are read before the prompt; fallbacks are listed in
  the ``*_DEFAULT_*`` tables.
- **actions**: every matching word, in prompt order (at most :data:`MAX_ACTIONS`); a
  word in :data:`ACTION_PHRASES` expands to several (``combo`` → punch, punch, kick);
  with a weapon word, ``training`` is sword work. No action word → ``idle``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

SUFFIXES = ("", "s", "es", "d", "ed", "ing", "er", "ers", "y", "ion", "ies")
MAX_ACTIONS = 8

#: Place words (weight 2) and hints (weight 1) for each setting.
SETTING_WORDS: dict[str, dict[str, int]] = {
    "dojo": {"dojo": 2, "temple": 2, "shrine": 2, "monastery": 2, "samurai": 1, "ninja": 1, "kata": 1},
    "forest": {"forest": 2, "woods": 2, "jungle": 2, "grove": 2, "tree": 1, "elf": 1},
    "desert": {"desert": 2, "dune": 2, "sahara": 2, "oasis": 2, "sand": 1, "camel": 1},
    "city": {"city": 2, "street": 2, "urban": 2, "downtown": 2, "alley": 2, "rooftop": 2,
             "metropolis": 2, "skyline": 2, "building": 1, "skyscraper": 2, "neon": 1},
    "beach": {"beach": 2, "ocean": 2, "shore": 2, "coast": 2, "island": 2, "sea": 2, "surf": 1},
    "mountains": {"mountain": 2, "peak": 2, "cliff": 2, "summit": 2, "valley": 2, "alps": 2,
                  "glacier": 2, "canyon": 2, "climb": 1},
    "space": {"space": 2, "galaxy": 2, "planet": 2, "orbit": 2, "asteroid": 2, "nebula": 2,
              "astronaut": 1, "spaceship": 2, "lunar": 2},
    "battlefield": {"battlefield": 2, "battle": 1, "war": 1, "army": 2, "warrior": 1,
                    "enemy": 1, "enemies": 1, "knight": 1, "soldier": 1, "siege": 2},
    "plains": {"field": 2, "meadow": 2, "plain": 2, "prairie": 2, "grassland": 2, "hill": 2},
}
STYLE_DEFAULT_SETTING = {"cyberpunk": "city", "noir": "city", "anime": "plains"}

TIME_WORDS: dict[str, str] = {
    "dawn": "dawn", "sunrise": "dawn", "morning": "dawn",
    "day": "day", "daytime": "day", "noon": "day", "sunny": "day", "afternoon": "day", "daylight": "day",
    "sunset": "sunset", "dusk": "sunset", "evening": "sunset", "twilight": "sunset", "golden": "sunset",
    "night": "night", "midnight": "night", "moon": "night", "moonlit": "night", "starry": "night",
}
STYLE_DEFAULT_TIME = {"cyberpunk": "night", "noir": "night", "cinematic": "sunset"}
MOOD_DEFAULT_TIME = {"epic": "sunset", "tense": "night", "mysterious": "night", "sad": "sunset",
                     "romantic": "sunset"}
SETTING_DEFAULT_TIME = {"space": "night"}

WEATHER_WORDS: dict[str, str] = {
    "rain": "rain", "storm": "rain", "downpour": "rain", "drizzle": "rain", "thunder": "rain",
    "monsoon": "rain", "wet": "rain",
    "snow": "snow", "blizzard": "snow", "winter": "snow", "frost": "snow", "icy": "snow",
    "fog": "fog", "mist": "fog", "haze": "fog", "smoke": "fog", "cloudy": "fog",
}
#: Words that set how strong the weather is (0–1); 0.7 otherwise.
INTENSITY_WORDS: dict[str, float] = {
    "heavy": 1.0, "torrential": 1.0, "pouring": 1.0, "blizzard": 1.0, "storm": 0.95, "thick": 0.95,
    "dense": 0.95, "light": 0.4, "drizzle": 0.35, "gentle": 0.4, "soft": 0.4, "thin": 0.4,
}

STYLE_WORDS: dict[str, str] = {
    "cyberpunk": "cyberpunk", "neon": "cyberpunk", "synthwave": "cyberpunk", "futuristic": "cyberpunk",
    "scifi": "cyberpunk", "sci": "cyberpunk",
    "cinematic": "cinematic", "film": "cinematic", "movie": "cinematic", "filmic": "cinematic",
    "anime": "anime", "manga": "anime", "cartoon": "anime", "ghibli": "anime", "cel": "anime",
    "noir": "noir", "monochrome": "noir",
    "painterly": "painterly", "painting": "painterly", "watercolor": "painterly", "oil": "painterly",
}

MOOD_WORDS: dict[str, str] = {
    "epic": "epic", "heroic": "epic", "triumphant": "epic", "grand": "epic", "majestic": "epic",
    "happy": "happy", "upbeat": "happy", "cheerful": "happy", "joyful": "happy", "fun": "happy",
    "playful": "happy", "bright": "happy",
    "calm": "calm", "peaceful": "calm", "serene": "calm", "relaxing": "calm", "tranquil": "calm",
    "meditative": "calm", "chill": "calm",
    "sad": "sad", "melancholic": "sad", "melancholy": "sad", "somber": "sad", "lonely": "sad",
    "tragic": "sad",
    "tense": "tense", "dark": "tense", "ominous": "tense", "suspense": "tense", "scary": "tense",
    "horror": "tense", "menacing": "tense",
    "mysterious": "mysterious", "mystic": "mysterious", "eerie": "mysterious", "dreamy": "mysterious",
    "ethereal": "mysterious",
    "energetic": "energetic", "driving": "energetic", "aggressive": "energetic", "hype": "energetic",
    "intense": "energetic",
    "romantic": "romantic", "tender": "romantic", "love": "romantic",
}
ACTION_DEFAULT_MOOD = {"dance": "happy", "idle": "calm", "walk": "calm"}

GENRE_WORDS: dict[str, str] = {
    "orchestral": "orchestral", "orchestra": "orchestral", "symphonic": "orchestral",
    "strings": "orchestral", "choir": "orchestral",
    "electronic": "electronic", "edm": "electronic", "synth": "electronic", "techno": "electronic",
    "synthwave": "electronic", "dubstep": "electronic", "trance": "electronic", "club": "electronic",
    "piano": "piano", "ambient": "ambient", "drone": "ambient",
    "lofi": "lofi", "jazz": "lofi", "hiphop": "lofi",
    "taiko": "taiko", "japanese": "taiko", "koto": "taiko",
}
STYLE_DEFAULT_GENRE = {"cyberpunk": "electronic", "cinematic": "orchestral", "anime": "orchestral",
                       "noir": "lofi", "painterly": "piano"}
MOOD_DEFAULT_GENRE = {"epic": "orchestral", "happy": "electronic", "calm": "ambient", "sad": "piano",
                      "tense": "ambient", "mysterious": "ambient", "energetic": "electronic",
                      "romantic": "piano", "neutral": "ambient"}

#: Tempo (bpm) by music mood; fast/slow words scale it.
MOOD_TEMPO = {"epic": 96, "happy": 118, "calm": 72, "sad": 66, "tense": 88, "mysterious": 76,
              "energetic": 128, "romantic": 78, "neutral": 96}
#: Instruments each genre plays (see :mod:`.synth`).
GENRE_INSTRUMENTS: dict[str, tuple[str, ...]] = {
    "orchestral": ("strings", "brass", "bass", "timpani", "cymbal"),
    "electronic": ("pad", "bass", "arp", "kick", "snare", "hats"),
    "piano": ("piano", "pad", "bass"),
    "ambient": ("pad", "bells", "bass"),
    "lofi": ("piano", "bass", "kick", "snare", "hats"),
    "taiko": ("strings", "flute", "bass", "taiko"),
}

ACTION_WORDS: dict[str, str] = {
    "walk": "walk", "stroll": "walk", "wander": "walk", "march": "walk", "step": "walk", "stride": "walk",
    "run": "run", "ran": "run", "jog": "run", "sprint": "run", "chase": "run", "flee": "run",
    "dash": "dash", "charge": "dash", "rush": "dash", "lunge": "dash",
    "jump": "jump", "leap": "jump", "hop": "jump", "vault": "jump",
    "punch": "punch", "jab": "punch", "hit": "punch", "strike": "punch", "uppercut": "punch",
    "kick": "kick", "roundhouse": "kick",
    "slash": "slash", "cut": "slash", "swing": "slash", "slice": "slash", "cleave": "slash",
    "block": "block", "parry": "block", "guard": "block", "defend": "block",
    "spin": "spin", "twirl": "spin", "pirouette": "spin",
    "dance": "dance", "groove": "dance", "boogie": "dance",
    "idle": "idle", "stand": "idle", "wait": "idle", "rest": "idle", "meditat": "idle", "breath": "idle",
    "bows": "bow", "bowing": "bow", "bowed": "bow", "salute": "bow",
}
#: Words that stand for a sequence of actions; the second entry is used when a weapon is named.
ACTION_PHRASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "combo": (("punch", "punch", "kick"), ("slash", "slash", "kick")),
    "training": (("punch", "kick", "punch", "block"), ("slash", "block", "slash", "kick")),
    "train": (("punch", "kick", "punch", "block"), ("slash", "block", "slash", "kick")),
    "practice": (("punch", "kick", "block"), ("slash", "block", "slash")),
    "spar": (("punch", "block", "kick"), ("slash", "block", "slash")),
    "fight": (("punch", "kick"), ("slash", "block")),
    "fighter": ((), ()),  # a person, not an action (stops "fight" + "er" matching)
    "martial": (("punch", "kick", "block"), ("slash", "block", "kick")),
}
WEAPON_WORDS = ("sword", "katana", "blade", "samurai", "saber", "sabre")
SPEED_WORDS: dict[str, float] = {"fast": 1.25, "quick": 1.25, "rapid": 1.3, "swift": 1.25,
                                 "furious": 1.3, "slow": 0.75, "gentle": 0.85, "lazy": 0.75}

#: Named palettes: by style first, then by mood (see :mod:`.palette`).
STYLE_PALETTE = {"cyberpunk": "neon", "cinematic": "teal_orange", "anime": "pastel", "noir": "mono",
                 "painterly": "earth"}
MOOD_PALETTE = {"epic": "ember", "sad": "cold", "tense": "dark", "happy": "golden", "calm": "natural",
                "mysterious": "violet", "energetic": "ember", "romantic": "rose", "neutral": "natural"}


@dataclass(frozen=True)
class MusicBrief:
    """What the music stage should write."""

    mood: str
    genre: str
    tempo_bpm: int
    instruments: tuple[str, ...]


@dataclass(frozen=True)
class PromptAnalysis:
    """Everything the media stages read from a prompt."""

    prompt: str
    setting: str
    time_of_day: str
    weather: str
    weather_intensity: float
    style: str
    mood: str
    palette: str
    actions: tuple[str, ...]
    speed: float
    music: MusicBrief

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable form (for stage outputs and logs)."""
        return asdict(self)


def tokenize(text: str) -> list[str]:
    """Lower-case words of ``text`` (letters and digits; hyphens and apostrophes dropped)."""
    return re.findall(r"[a-z0-9]+", text.lower().replace("-", "").replace("'", ""))


def _matches(token: str, stem: str) -> bool:
    """Whether ``token`` is ``stem`` or one of its inflections (see the module docstring)."""
    if not token.startswith(stem[:-1]):
        return False
    bases = (stem, stem + stem[-1], stem[:-1] if stem.endswith("e") else stem)
    return any(token == base + suffix for base in bases for suffix in SUFFIXES)


def _lookup(token: str, table: dict[str, Any]) -> Any | None:
    if token in table:
        return table[token]
    best = max((stem for stem in table if _matches(token, stem)), key=len, default=None)
    return table[best] if best is not None else None


def first_match(tokens: list[str], table: dict[str, Any]) -> Any | None:
    """The table's value for the first token that matches an entry, else None."""
    for token in tokens:
        value = _lookup(token, table)
        if value is not None:
            return value
    return None


def pick_setting(tokens: list[str], style: str) -> str:
    """The setting with the highest keyword weight (earliest word breaks ties)."""
    scores: dict[str, tuple[int, int]] = {}
    for index, token in enumerate(tokens):
        for setting, words in SETTING_WORDS.items():
            weight = _lookup(token, words)
            if weight:
                total, first = scores.get(setting, (0, index))
                scores[setting] = (total + weight, first)
    if not scores:
        return STYLE_DEFAULT_SETTING.get(style, "plains")
    return min(scores, key=lambda s: (-scores[s][0], scores[s][1]))


def pick_actions(tokens: list[str]) -> tuple[str, ...]:
    """Actions in prompt order; phrase words expand; ``idle`` when there are none."""
    armed = any(_lookup(t, dict.fromkeys(WEAPON_WORDS, True)) for t in tokens)
    actions: list[str] = []
    for token in tokens:
        phrase = _lookup(token, ACTION_PHRASES)
        if phrase is not None:
            actions.extend(phrase[1] if armed else phrase[0])
            continue
        action = _lookup(token, ACTION_WORDS)
        if action is not None:
            actions.append(action)
    return tuple(actions[:MAX_ACTIONS]) or ("idle",)


def _pick_time(tokens: list[str], style: str, mood: str, setting: str) -> str:
    return (first_match(tokens, TIME_WORDS) or SETTING_DEFAULT_TIME.get(setting)
            or STYLE_DEFAULT_TIME.get(style) or MOOD_DEFAULT_TIME.get(mood) or "day")


def _pick_weather(tokens: list[str], setting: str) -> tuple[str, float]:
    if setting == "space":
        return "clear", 0.0
    for index, token in enumerate(tokens):
        weather = _lookup(token, WEATHER_WORDS)
        if weather is not None:
            window = tokens[max(0, index - 2): index + 1]
            intensity = first_match(window[::-1], INTENSITY_WORDS)
            return str(weather), float(0.7 if intensity is None else intensity)
    return "clear", 0.0


def _pick_style(tokens: list[str], style_option: str | None) -> str:
    option_tokens = tokenize(style_option or "")
    return first_match(option_tokens, STYLE_WORDS) or first_match(tokens, STYLE_WORDS) or "natural"


def _pick_mood(tokens: list[str], mood_option: str | None, actions: tuple[str, ...]) -> str:
    option_tokens = tokenize(mood_option or "")
    found = first_match(option_tokens, MOOD_WORDS) or first_match(tokens, MOOD_WORDS)
    if found:
        return str(found)
    if any(a in ("punch", "kick", "slash", "dash", "run") for a in actions):
        return "energetic"
    return ACTION_DEFAULT_MOOD.get(actions[0], "neutral")


def _music_brief(tokens: list[str], style: str, mood: str, speed: float) -> MusicBrief:
    genre = first_match(tokens, GENRE_WORDS) or STYLE_DEFAULT_GENRE.get(style) or MOOD_DEFAULT_GENRE[mood]
    tempo = round(MOOD_TEMPO[mood] * (1.0 + (speed - 1.0) * 0.5))
    return MusicBrief(mood=mood, genre=genre, tempo_bpm=max(50, min(160, tempo)),
                      instruments=GENRE_INSTRUMENTS[genre])


def analyse_prompt(prompt: str, style: str | None = None, mood: str | None = None) -> PromptAnalysis:
    """Read ``prompt`` (and the job's ``style`` and ``mood`` options) into a :class:`PromptAnalysis`."""
    tokens = tokenize(prompt)
    style_name = _pick_style(tokens, style)
    actions = pick_actions(tokens)
    mood_name = _pick_mood(tokens, mood, actions)
    setting = pick_setting(tokens, style_name)
    weather, intensity = _pick_weather(tokens, setting)
    speed = float(first_match(tokens, SPEED_WORDS) or 1.0)
    return PromptAnalysis(
        prompt=prompt,
        setting=setting,
        time_of_day=_pick_time(tokens, style_name, mood_name, setting),
        weather=weather,
        weather_intensity=intensity,
        style=style_name,
        mood=mood_name,
        palette=STYLE_PALETTE.get(style_name) or MOOD_PALETTE[mood_name],
        actions=actions,
        speed=speed,
        music=_music_brief(tokens, style_name, mood_name, speed),
    )
