"""Labelled examples (content/knowledge/examples.py): which answers each dev question
supports, how close a new question is to them, and that none of them is a held-out question."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from content.knowledge.answering import Answer, AnswerStatus
from content.knowledge.articles import Article
from content.knowledge.evaluation import is_right
from content.knowledge.examples import ExampleIndex, Wording, dev_examples
from content.knowledge.question_sets import DEV_SETS, EVAL_DIR, read_set
from content.knowledge.semantic import EMBEDDINGS_FILE, article_key, entry_key, read_vectors, text_key


def test_an_example_supports_exactly_the_answers_it_would_judge_right(answerer):
    """Support mirrors `is_right`: an entry when expected or citing an expected article, an
    article when expected or the one an expected entry rests on; nothing else."""
    examples = answerer.examples
    knowledge, articles = answerer.knowledge, answerer.articles.articles
    rows = dev_examples()
    assert len(rows) == len(examples.questions)
    answers = [(entry_key(e), Answer(AnswerStatus.ANSWERED, entry=e)) for e in knowledge.entries]
    answers += [(article_key(a), Answer(AnswerStatus.ARTICLE, articles=(a,))) for a in articles]
    for number in random.Random(7).sample(range(len(rows)), 60):
        _, expected = rows[number]
        for key, answer in answers:
            supported = number in examples.support.get(key, np.empty(0, int)).tolist()
            assert supported == is_right(answer, expected, knowledge), (rows[number], key)


def test_a_question_is_nearest_to_the_examples_that_mean_the_same():
    deadline = Article("工伤保险条例", 17, "……")
    index = ExampleIndex(
        [
            ("工伤认定申请要在多少天内提出", "工伤保险条例 第十七条"),
            ("工伤认定的期限是多久", "工伤保险条例 第十七条|工伤保险条例 第二十条"),
            ("今天天气怎么样", ""),
        ],
        ["a", "b", "c"],
        np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]]),
        (),
        (deadline,),
    )
    key = article_key(deadline)
    near = index.near(np.array([0.9, 0.1]))
    assert near.best == pytest.approx(0.9) and near.nearest == 0
    assert near.of(key) == pytest.approx(0.9) and near.nearest_expects(key)
    assert near.outside == pytest.approx(0.1)
    # the two deadline examples carry almost all the vote; an answer nobody expects gets the
    # floor and no vote
    assert near.vote(key) > 0.99
    assert near.of("article:工伤保险条例 第二十条") == 0.2  # not loaded here: nobody supports it
    assert near.vote("article:工伤保险条例 第二十条") == 0.0
    # left out, the nearest example no longer counts
    without = index.near(np.array([0.9, 0.1]), {"工伤认定申请要在多少天内提出"})
    assert without.nearest == 1 and without.of(key) == pytest.approx(0.78)


def test_closeness_in_wording_is_scikit_learns_tf_idf_over_characters(answerer):
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = answerer.examples.texts
    reference = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
    rows = reference.fit_transform(texts)
    wording = Wording(texts)
    for question in ["员工不想交社保  咋办", "Is the late fee 万分之五?", texts[3], "？？", ""]:
        expected = (rows @ reference.transform([question]).T).toarray().ravel()
        assert np.allclose(wording.similarity(question), expected, atol=1e-12), question


def test_a_question_is_near_in_wording_to_examples_that_share_its_words():
    index = ExampleIndex(
        [("工伤认定申请期限", "工伤保险条例 第十七条"), ("滞纳金怎么算", "社会保险法 第八十六条")],
        ["工伤认定申请期限", "滞纳金怎么算"],
        np.zeros((2, 2)),
        (),
        (Article("工伤保险条例", 17, "……"),),
    )
    near = index.near_in_wording("工伤认定的期限")
    assert near.nearest == 0 and 0 < near.best < 1
    assert near.of(article_key(Article("工伤保险条例", 17, "……"))) == pytest.approx(near.best)
    assert index.near_in_wording("工伤认定的期限", {"工伤认定申请期限"}).nearest == 1
    assert Wording([]).similarity("社保").shape == (0,)


def test_a_left_out_example_is_not_consulted(answerer):
    question, expected = next((q, e) for q, e in dev_examples() if e and " " in e)
    vector = answerer.semantic.encode(answerer.index.analyzer.read_question(question))
    consulted = answerer.examples.near(vector)
    assert consulted.best == pytest.approx(1.0, abs=1e-2)  # itself (stored as float16)
    left_out = answerer.examples.near(vector, {question})
    assert left_out.best < consulted.best
    assert left_out.nearest != answerer.examples.questions.index(question)


def test_no_held_out_question_is_an_example():
    """A held-out question that is also a labelled example would be answered from its own
    label, and flatter the held-out figures."""
    examples = {question for question, _ in dev_examples()}
    held_out = [path for path in EVAL_DIR.glob("*.csv") if path.name not in DEV_SETS]
    assert held_out
    shared = [q for path in held_out for q, _ in read_set(path) if q in examples]
    assert not shared, f"{len(shared)} held-out question(s) are also dev questions"


def test_no_question_the_knowledge_base_knows_is_a_question_of_an_eval_set(answerer):
    """An entry's phrasing or an article's question that is also an eval question
    (punctuation and case aside) would answer it from the knowledge base's own words: the
    held-out figures would be flattered, and so would the dev figures out of fold. (The
    entries' own questions are left out: the first sets were written from them, and four
    of their questions are those titles.)"""

    def plain(text: str) -> str:
        return re.sub(r"[\W_]+", "", text.lower())

    known = {plain(q) for entry in answerer.knowledge.entries for local in entry.texts.values()
             for q in local.phrasings}  # fmt: skip
    known |= {plain(q) for a in answerer.articles.articles if a.note for q in a.note.questions}
    shared = [q for path in EVAL_DIR.glob("*.csv") for q, _ in read_set(path) if plain(q) in known]
    assert not shared, f"{len(shared)} eval question(s) are known questions of the knowledge base"


def test_the_shipped_vectors_cover_every_example(answerer):
    stored = read_vectors(EMBEDDINGS_FILE)
    missing = [text for text in answerer.examples.texts if text_key(text) not in stored]
    assert not missing, (
        f"{len(missing)} example(s) without a stored vector: run `pension-bot calibrate answers`"
    )
