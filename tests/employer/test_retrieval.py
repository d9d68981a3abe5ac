"""The second-stage re-ranker and the cues it uses: question intents and wage figures."""

from __future__ import annotations

import csv

import pytest

from content.knowledge.model import DATA_DIR
from content.knowledge.search import KnowledgeIndex, SearchWeights
from content.knowledge.text import HIGH_WAGE_CUE, TextAnalyzer, intents, wage_amounts

EVAL = DATA_DIR / "eval"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("为什么社保局要来稽核", {"why"}),
        ("why are we being audited", {"why"}),
        ("员工入职多少天内要参保", {"when"}),
        ("养老保险单位交多少", {"amount"}),
        ("稽核要准备哪些材料", {"documents"}),
        ("不登记会被罚吗", {"penalty"}),
        ("社保是什么", set()),
    ],
)
def test_intents(text, expected):
    assert intents(text) == expected


def test_wage_amounts_need_a_wage_context():
    assert 40000.0 in wage_amounts("月薪4万")
    assert 30000.0 in wage_amounts("salary 30k a month")
    assert wage_amounts("欠了一万块社保") == []


def test_a_high_wage_adds_the_ceiling_cue():
    analyzer = TextAnalyzer()
    assert HIGH_WAGE_CUE in analyzer.word_groups("月薪4万的员工社保怎么交")
    assert HIGH_WAGE_CUE not in analyzer.word_groups("员工工资才3000")
    assert HIGH_WAGE_CUE not in analyzer.word_groups("2026年的社保基数")


def test_the_reranker_only_reorders_the_first_stage_head(answerer):
    knowledge, analyzer = answerer.knowledge, answerer.index.analyzer
    plain = KnowledgeIndex(knowledge, analyzer, SearchWeights(rerank_depth=1))
    depth = answerer.index.weights.rerank_depth
    with (EVAL / "open.csv").open(encoding="utf-8") as handle:
        questions = [row["question"] for row in csv.DictReader(handle)][:30]
    for question in questions:
        first = [m.entry.id for m in plain.search(question, limit=10).matches]
        second = [m.entry.id for m in answerer.index.search(question, limit=10).matches]
        assert set(first[:depth]) == set(second[:depth])
        assert first[depth:] == second[depth:]


def test_the_reranker_prefers_the_phrasing_that_asks_why(answerer):
    assert answerer.answer("为什么社保局要来我们公司稽核").scores[0][0] == "audit-why"
