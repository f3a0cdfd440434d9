"""The prompt analyser: deterministic, table-driven reading of the seed's prompts and others."""

from __future__ import annotations

import pytest

from montage.generators.builtin.media.prompt import analyse_prompt, pick_actions, tokenize


def test_seed_prompt_a_warrior_dash_and_slash() -> None:
    analysis = analyse_prompt("A warrior dashes forward and slashes the enemy, epic orchestral music",
                              style="cinematic", mood="epic")
    assert analysis.setting == "battlefield"
    assert analysis.actions == ("dash", "slash")
    assert analysis.style == "cinematic"
    assert analysis.mood == "epic"
    assert analysis.music.genre == "orchestral"
    assert analysis.weather == "clear"


def test_seed_prompt_b_cyberpunk_dojo_in_heavy_rain() -> None:
    analysis = analyse_prompt("A cyberpunk dojo in heavy rain, samurai training, epic music")
    assert analysis.setting == "dojo"  # a place noun beats the style word
    assert analysis.style == "cyberpunk"
    assert analysis.palette == "neon"
    assert analysis.time_of_day == "night"
    assert (analysis.weather, analysis.weather_intensity) == ("rain", 1.0)
    assert analysis.actions[0] == "slash"  # samurai makes training sword work
    assert analysis.mood == "epic"


def test_combo_expands_and_fast_speeds_up() -> None:
    analysis = analyse_prompt("A fighter performs a fast combo, upbeat electronic music")
    assert analysis.actions == ("punch", "punch", "kick")
    assert analysis.speed > 1.0
    assert analysis.music.genre == "electronic"
    assert analysis.mood == "happy"


@pytest.mark.parametrize(
    ("prompt", "setting", "weather", "time"),
    [
        ("a girl dancing on a sunny beach", "beach", "clear", "day"),
        ("running through a foggy forest at dawn", "forest", "fog", "dawn"),
        ("a knight walks in snowy mountains", "mountains", "snow", "day"),
        ("an astronaut on a lunar plain under a storm", "space", "clear", "night"),
        ("a nomad crosses the desert at sunset", "desert", "clear", "sunset"),
    ],
)
def test_settings_weather_and_time(prompt: str, setting: str, weather: str, time: str) -> None:
    analysis = analyse_prompt(prompt)
    assert (analysis.setting, analysis.weather, analysis.time_of_day) == (setting, weather, time)


def test_actions_keep_prompt_order_and_inflections() -> None:
    assert pick_actions(tokenize("He runs, jumps, spins and then bows")) == ("run", "jump", "spin", "bow")
    assert pick_actions(tokenize("a cute cat")) == ("idle",)  # "cute" is not "cut"


def test_light_rain_is_lighter_than_heavy_rain() -> None:
    light = analyse_prompt("neon lights in a light drizzle")
    heavy = analyse_prompt("neon lights in heavy rain")
    assert light.weather == heavy.weather == "rain"
    assert light.weather_intensity < heavy.weather_intensity


def test_options_override_the_prompt() -> None:
    analysis = analyse_prompt("a happy walk in the park", style="anime", mood="sad")
    assert analysis.style == "anime"
    assert analysis.mood == "sad"
    assert analysis.music.genre == "orchestral"


def test_analysis_is_deterministic_and_serializable() -> None:
    first = analyse_prompt("A cyberpunk dojo in heavy rain, samurai training, epic music")
    assert first == analyse_prompt("A cyberpunk dojo in heavy rain, samurai training, epic music")
    data = first.to_dict()
    assert data["music"]["tempo_bpm"] == first.music.tempo_bpm
    assert isinstance(data["actions"], tuple | list)
