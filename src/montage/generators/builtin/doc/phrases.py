"""The few fixed phrases the built-in doc stages write, in Chinese and English."""

from __future__ import annotations

from typing import Any

PHRASES: dict[str, dict[str, str]] = {
    "zh": {
        "untitled": "未命名文档",
        "continued": "{title}（续 {part}）",
        "agenda": "内容概览",
        "code_point": "{language}代码示例",
        "code_point_plain": "代码示例",
        "table_point": "表格：{columns}",
        "image_point": "图片：{alt}",
        "image_untitled": "图片",
        "opening": "大家好，今天我们来介绍：{title}。",
        "opening_agenda": "本次内容分为{count}个部分：{headings}。",
        "section_intro": "{heading}。",
        "section_intro_detail": "接下来，我们详细讲解{heading}。",
        "continued_intro": "我们继续讲{heading}。",
        "list_lead": "要点如下：",
        "ordinal": "第{n}，",
        "code": "屏幕上展示了一段{language}代码，共{lines}行。",
        "code_plain": "屏幕上展示了一段代码，共{lines}行。",
        "code_defines": "其中定义了{names}。",
        "table": "这张表格有{rows}行，列出了{columns}。",
        "table_row": "例如，{cells}。",
        "image": "这里有一张图片：{alt}。",
        "image_plain": "这里有一张配图。",
        "quote": "引用：{text}",
        "recap": "小结一下：{points}。",
        "closing": "以上就是{title}的全部内容，谢谢观看。",
        "separator": "、",
        "sentence_end": "。",
    },
    "en": {
        "untitled": "Untitled document",
        "continued": "{title} (cont. {part})",
        "agenda": "Overview",
        "code_point": "{language} code example",
        "code_point_plain": "Code example",
        "table_point": "Table: {columns}",
        "image_point": "Image: {alt}",
        "image_untitled": "Image",
        "opening": "Hello, and welcome. Today's topic is {title}.",
        "opening_agenda": "We will cover {count} parts: {headings}.",
        "section_intro": "{heading}.",
        "section_intro_detail": "Next, let's look closely at {heading}.",
        "continued_intro": "Let's continue with {heading}.",
        "list_lead": "The key points are:",
        "ordinal": "Point {n}: ",
        "code": "The slide shows a {language} code example with {lines} lines.",
        "code_plain": "The slide shows a code example with {lines} lines.",
        "code_defines": "It defines {names}.",
        "table": "This table has {rows} rows, with the columns {columns}.",
        "table_row": "For example: {cells}.",
        "image": "Here is an image: {alt}.",
        "image_plain": "Here is an illustration.",
        "quote": "A quote: {text}",
        "recap": "To sum up: {points}.",
        "closing": "That's all for {title}. Thanks for watching.",
        "separator": ", ",
        "sentence_end": ".",
    },
}


def phrase(family: str, key: str, **values: Any) -> str:
    """The phrase ``key`` in ``family`` ("zh" or "en"), filled with ``values``."""
    table = PHRASES.get(family, PHRASES["en"])
    return table[key].format(**values)


def join_list(family: str, parts: list[str]) -> str:
    """Parts joined with the language's list separator."""
    return phrase(family, "separator").join(p for p in parts if p)
