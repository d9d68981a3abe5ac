"""Closeness in meaning (content/knowledge/semantic.py), with the real sentence encoder."""

import logging

import numpy as np
import pytest

from content.knowledge.answering import default_answerer
from content.knowledge.semantic import (
    EMBEDDINGS_FILE,
    Closeness,
    SemanticIndex,
    known_questions,
    read_vectors,
    sentence_model,
    text_key,
    write_vectors,
)

ANSWERS = [
    ("entry:injury-deadline", ["工伤认定申请要在多少天内提出", "单位申请工伤认定的期限"]),
    ("entry:late-fee", ["社保晚交了滞纳金怎么算", "How is the late fee for contributions charged?"]),
    ("article:maternity", ["生育津贴按什么标准发放"]),
]


@pytest.fixture(scope="module")
def model():
    return sentence_model()


@pytest.fixture(scope="module")
def index(model):
    return SemanticIndex(ANSWERS, model)


def test_a_question_is_closest_to_the_answer_it_means_in_either_language(index):
    for question, meant in (
        ("员工受伤了，公司几天之内得去报工伤", "entry:injury-deadline"),
        ("Within how many days must we apply for work injury recognition?", "entry:injury-deadline"),
        ("补缴社保要交多少罚息", "entry:late-fee"),
        ("女职工生孩子能领多少钱", "article:maternity"),
    ):
        closeness = index.closeness(index.encode(question))
        assert closeness.rank(meant) == 0, question
        assert closeness.of(meant) == closeness.best
        assert all(closeness.of(key) < closeness.best for key, _ in ANSWERS if key != meant)


def test_closeness_of_an_unknown_answer_is_below_all():
    closeness = Closeness({"a": 0.8, "b": 0.5}, 0.8)
    assert closeness.of("c") < 0.5 and closeness.rank("c") == 2
    assert closeness.rank("a") == 0 and closeness.rank("b") == 1


def test_stored_vectors_are_used_and_missing_ones_computed(model, tmp_path):
    built = SemanticIndex(ANSWERS, model)
    path = tmp_path / "vectors.npz"
    write_vectors(path, built.texts, built.vectors)
    stored = read_vectors(path)
    assert set(stored) == {text_key(text) for _, texts in ANSWERS for text in texts}

    class Counting:
        calls = 0

        def encode(self, texts):
            Counting.calls += 1
            return model.encode(texts)

    # nothing to embed but the question when every text is stored (stored as float16)
    again = SemanticIndex(ANSWERS, Counting(), stored)
    assert Counting.calls == 0
    assert np.allclose(again.vectors, built.vectors, atol=1e-2)
    # a new text is embedded; the others still come from the file
    SemanticIndex([*ANSWERS, ("entry:new", ["外籍员工要不要交社保"])], Counting(), stored)
    assert Counting.calls == 1


def test_an_unreadable_vector_file_is_recomputed_not_fatal(tmp_path, caplog):
    broken = tmp_path / "vectors.npz"
    broken.write_bytes(b"not a numpy file")
    with caplog.at_level(logging.WARNING):
        assert read_vectors(broken) == {}
        assert read_vectors(tmp_path / "missing.npz") == {}
    assert "computing them" in caplog.text


def test_the_shipped_vectors_cover_every_known_question():
    # else every start embeds the missing ones: run `pension-bot calibrate answers`
    answerer = default_answerer()
    stored = read_vectors(EMBEDDINGS_FILE)
    questions = known_questions(answerer.knowledge.entries, answerer.articles.articles)
    missing = [text for _, texts in questions for text in texts if text_key(text) not in stored]
    assert not missing, f"{len(missing)} known question(s) have no stored vector, e.g. {missing[:3]}"
