"""Questions another body answers (the housing fund, taxes, commercial insurance...) get a
kind pointer there, not an article of the social-insurance laws, and are not queued."""

from __future__ import annotations

from pathlib import Path

import pytest

from content.i18n import Translator
from content.knowledge.answering import AnswerStatus
from content.knowledge.elsewhere import load_elsewhere
from content.knowledge.model import KnowledgeBaseError
from content.knowledge.render import answer_text


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("公司给员工交住房公积金的比例是多少", "housing-fund"),
        ("公積金提取要什麼材料", "housing-fund"),  # traditional characters
        ("gōngjījīn zěnme tíqǔ", "housing-fund"),  # pinyin with tones
        ("What is the housing provident fund rate in Shanghai?", "housing-fund"),
        ("员工年终奖怎么计税", "tax"),
        ("雇主责任险出了事怎么理赔", "commercial-insurance"),
        ("外籍员工的工作签证怎么续", "foreign-work-permit"),
        ("员工一年有几天年假", "leave"),
    ],
)
def test_a_topic_handled_elsewhere_gets_a_pointer_there(answerer, question, topic):
    answer = answerer.answer(question)
    assert answer.status is AnswerStatus.ELSEWHERE
    assert answer.elsewhere is not None and answer.elsewhere.id == topic
    assert answer.citations == []


@pytest.mark.parametrize(
    "question",
    [
        "公司交了社保还要交公积金吗",  # names social insurance: the assistant's
        "没有营业执照的小作坊，工人干活受伤了怎么赔",
        "公司不给加班费怎么办",  # the Labour Contract Law's Art. 85
        "Is a private company's worker covered by work injury insurance?",  # 'vat' in 'private'
    ],
)
def test_a_social_insurance_question_naming_such_a_topic_is_still_answered_from_the_laws(answerer, question):
    assert answerer.answer(question).status is not AnswerStatus.ELSEWHERE


@pytest.mark.parametrize("language", ["zh_Hans", "en"])
def test_the_pointer_in_words(answerer, language):
    text = answer_text(answerer.answer("住房公积金缴存比例是多少"), Translator(language))
    assert "12329" in text
    assert ("不归社保管" in text) if language == "zh_Hans" else ("not a social insurance matter" in text)


def test_a_broken_topics_file_is_refused_with_every_problem(tmp_path: Path):
    path = tmp_path / "elsewhere.toml"
    path.write_text('core = []\n[[topic]]\nid = "x"\nterms = ["公积金"]\n', encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as refused:
        load_elsewhere(path)
    assert len(refused.value.problems) == 2  # the topic's texts, and the core terms
