"""Chunking: sizes, overlap, word boundaries, coverage."""

from __future__ import annotations

import itertools
import random

import pytest

from montage.generators.builtin.kb.chunking import normalise, split_text

WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu",
         "nu", "xi", "omicron", "pi", "rho", "sigma")


def prose(n_sentences: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    sentences = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 14))).capitalize() + "."
                 for _ in range(n_sentences)]
    paragraphs = [" ".join(sentences[i:i + 5]) for i in range(0, len(sentences), 5)]
    return "\n\n".join(paragraphs)


@pytest.mark.parametrize(("size", "overlap"), [(50, 0), (120, 20), (300, 100), (1000, 200)])
def test_chunks_respect_size_cover_the_text_and_cut_no_word(size: int, overlap: int) -> None:
    text = prose(120)
    chunks = split_text(text, size, overlap)
    assert chunks and all(len(c.text) <= size for c in chunks)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert text[c.start:c.end] == c.text
        assert c.start == 0 or text[c.start - 1].isspace(), "a chunk starts inside a word"
        assert c.end == len(text) or not text[c.end].isalnum() or text[c.end - 1] in ".!?", "ends inside a word"
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_overlap_is_about_the_requested_size_and_never_more() -> None:
    text = prose(60, seed=3)
    chunks = split_text(text, 200, 50)
    shared = [max(0, a.end - b.start) for a, b in itertools.pairwise(chunks)]
    assert all(s <= 50 for s in shared)
    assert sum(shared) / len(shared) > 20  # words are short: the overlap lands near 50, at a word start


def test_no_overlap_means_disjoint_chunks() -> None:
    chunks = split_text(prose(40), 150, 0)
    assert all(b.start >= a.end for a, b in itertools.pairwise(chunks))


def test_prefers_paragraph_then_sentence_breaks() -> None:
    text = "First paragraph is here.\n\nSecond paragraph is a bit longer. It has two sentences."
    chunks = split_text(text, 40, 0)
    assert chunks[0].text == "First paragraph is here."
    assert chunks[1].text == "Second paragraph is a bit longer."


def test_text_without_spaces_is_cut_hard_and_still_progresses() -> None:
    text = "数据库" * 100 + "。" + "队列" * 50
    chunks = split_text(text, 64, 16)
    assert all(len(c.text) <= 64 for c in chunks)
    assert chunks[-1].end == len(text)


def test_empty_and_blank_text_give_no_chunks() -> None:
    assert split_text("", 100, 10) == []
    assert split_text(normalise(" \n\n \t "), 100, 10) == []


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        split_text("abc", 10, 10)


def test_normalise_unifies_line_ends_and_blank_runs() -> None:
    assert normalise("a  \r\nb\r\n\r\n\r\n\r\nc\x00") == "a\nb\n\nc"
