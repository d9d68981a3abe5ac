"""Answers from the articles themselves (issue 17): every article of the eight laws is
retrievable, and a question no entry covers is answered with the governing article."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from content.i18n import Translator
from content.knowledge.answering import Answerer, AnswerStatus
from content.knowledge.articles import LAWS_DIR, Article, chinese_numeral, load_articles
from content.knowledge.model import chinese_number, load_sources
from content.knowledge.render import answer_text

COUNTS = {
    "社会保险法": 98,
    "社会保险费征缴暂行条例": 31,
    "社会保险经办条例": 63,
    "劳动合同法": 98,
    "劳动合同法实施条例": 38,
    "劳动保障监察条例": 36,
    "工伤保险条例": 67,
    "失业保险条例": 33,
}


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    return load_articles()


@pytest.fixture(scope="module")
def law_answerer(answerer) -> Answerer:
    """The shipped indexes and calibration, without the topics handled elsewhere (so that a
    question on the housing fund shows the hand-over)."""
    return Answerer(
        answerer.index,
        answerer.articles,
        answerer.calibration,
        semantic=answerer.semantic,
        examples=answerer.examples,
    )


def test_every_law_is_vendored_and_parsed_whole(articles):
    assert Counter(article.source for article in articles) == COUNTS
    for source, count in COUNTS.items():
        numbers = [article.number for article in articles if article.source == source]
        assert sorted(numbers) == list(range(1, count + 1)), source
    sources = load_sources()
    for source in COUNTS:
        text = (LAWS_DIR / str(sources[source].text_file)).read_text(encoding="utf-8")
        last = re.findall(r"^第([零一二两三四五六七八九十百千]+)条", text, re.M)[-1]
        assert chinese_number(last) == COUNTS[source]
    assert all(article.text and not article.text.startswith("第") for article in articles)


def test_article_text_and_chapter(articles):
    by_citation = {article.citation: article for article in articles}
    injury = by_citation["工伤保险条例 第十七条"]
    assert injury.text.startswith("职工发生事故伤害") and "30日内" in injury.text
    assert "1年内" in injury.text  # the second paragraph belongs to the article too
    assert injury.chapter == "工伤认定"
    assert by_citation["社会保险法 第一条"].chapter == "总则"


def test_citation_form_matches_the_entries(articles):
    expected = "一 十 十七 二十 五十八 八十六 九十八 一百 一百零五 一百一十 二百六十六".split()
    assert [chinese_numeral(n) for n in (1, 10, 17, 20, 58, 86, 98, 100, 105, 110, 266)] == expected
    assert all(chinese_number(chinese_numeral(n)) == n for n in range(1, 400))
    article = Article("工伤保险条例", 17, "…", "工伤认定")
    assert article.citation == "工伤保险条例 第十七条"
    assert article.english(load_sources()) == "Regulations on Work-Related Injury Insurance, Art. 17"
    assert Article("社会保险法", 86, "…").citation == "社会保险法 第八十六条"


def test_the_article_index_scores_from_zero_to_one(answerer):
    found = answerer.articles.search("失业保险金最长领多久", limit=5)
    assert len(found) == 5
    scores = [score for _, score in found]
    assert all(0.0 <= score <= 1.0 for score in scores) and scores == sorted(scores, reverse=True)
    assert answerer.articles.search("???") == []


@pytest.mark.parametrize(
    ("question", "governing"),
    [
        ("劳动合同应当具备哪些条款", {"劳动合同法 第十七条"}),
        # handed over in stop 30 (right article, too little confidence); answered since the
        # closeness in meaning is weighed
        ("用人单位可以扣押员工身份证吗", {"劳动合同法 第九条", "劳动合同法 第八十四条"}),
        # How the unemployment fund is kept: no entry covers it (the benefit's periods have one);
        # the Social Insurance Law says the same of every fund.
        pytest.param(
            "失业保险基金存到哪里",
            {"失业保险条例 第十一条", "社会保险法 第六十八条"},
            # Answered with the closeness in meaning at threshold 0.73; handed to staff since
            # two more dev sets raised it to 0.80 (stop 31): the right article, a little short
            # of the threshold. Kept to show when it is answered again.
            marks=pytest.mark.xfail(strict=True, reason="known: handed over, not answered"),
        ),
    ],
)
def test_a_question_no_entry_covers_is_answered_by_its_article(law_answerer, question, governing):
    answer = law_answerer.answer(question)
    assert answer.status is AnswerStatus.ARTICLE
    assert answer.entry is None
    assert answer.articles[0].citation in governing
    assert answer.citations == [article.citation for article in answer.articles]
    assert len({article.source for article in answer.articles}) == 1
    assert answer.confidence >= law_answerer.calibration.threshold


def test_a_curated_question_is_still_answered_by_its_entry(law_answerer):
    answer = law_answerer.answer("新员工入职多久要参保")
    assert answer.status is AnswerStatus.ANSWERED
    assert answer.entry is not None and answer.entry.topic == "registration"
    assert answer.citations == answer.entry.citation_strings()
    assert "社会保险法 第五十八条" in answer.citations


def test_an_out_of_scope_question_goes_to_staff_with_the_closest_articles(law_answerer):
    answer = law_answerer.answer("公司年会抽奖奖品怎么选比较好")
    assert answer.status is AnswerStatus.UNSURE
    assert len(answer.articles) == 3
    assert answer.citations == []
    assert answer.confidence < law_answerer.calibration.threshold


def test_without_articles_the_answerer_behaves_as_before(answerer):
    plain = Answerer(answerer.index, calibration=answerer.calibration, semantic=answerer.semantic)
    answer = plain.answer("公司年会抽奖奖品怎么选比较好")
    assert answer.status is AnswerStatus.UNSURE and answer.articles == ()


@pytest.mark.parametrize("language", ["zh_Hans", "en"])
def test_an_article_answer_in_words(law_answerer, language):
    t = Translator(language)
    answer = law_answerer.answer("劳动合同应当具备哪些条款")
    text = answer_text(answer, t)
    article = answer.articles[0]
    assert article.text in text  # the Chinese original, quoted in both languages
    if language == "zh_Hans":
        assert text.startswith("这个问题，法律条文是这样规定的：")
        assert "劳动合同法 第十七条" in text and "当地经办机构" in text
    else:
        assert "Labour Contract Law, Art. 17" in text
        assert "official Chinese text" in text and "local social insurance agency" in text


@pytest.mark.parametrize("language", ["zh_Hans", "en"])
def test_a_hand_over_lists_the_closest_articles(law_answerer, language):
    t = Translator(language)
    answer = law_answerer.answer("公司年会抽奖奖品怎么选比较好")
    text = answer_text(answer, t, queued=True)
    assert text.startswith(t("ask.unsure"))
    assert t("ask.queued") in text
    for article in answer.articles:
        if language == "zh_Hans":
            assert article.citation in text
        else:
            assert article.english(load_sources()) in text
        assert article.text not in text  # name and number only
