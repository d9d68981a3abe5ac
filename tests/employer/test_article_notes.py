"""Plain-words notes on every article (content/knowledge/notes.py): complete, checked on
load, shown above the quoted article, and each article reachable by an everyday question."""

from __future__ import annotations

import pytest

from content.i18n import Translator
from content.knowledge.answering import Answer, AnswerStatus
from content.knowledge.model import KnowledgeBaseError
from content.knowledge.notes import load_notes
from content.knowledge.render import answer_text


def test_every_article_of_the_eight_laws_has_a_note_in_both_languages(answerer):
    articles = answerer.articles.articles
    assert {article.source for article in articles} >= {"社会保险法", "工伤保险条例", "劳动合同法"}
    assert len(articles) >= 464
    for article in articles:
        assert article.note is not None, article.citation
        assert article.note.zh and article.note.en and article.note.asked, article.citation


def test_every_noted_article_is_reached_by_a_question_it_answers(answerer):
    """Each noted article's first everyday question finds it among the three closest."""
    unreached = []
    noted = [article for article in answerer.articles.articles if article.note is not None]
    assert len(noted) == len(answerer.articles.articles)
    for article in noted:
        assert article.note is not None
        question = article.note.asked[0]
        found = [a.citation for a, _ in answerer.articles.search(question, limit=3)]
        if article.citation not in found:
            unreached.append((article.citation, question, found))
    assert unreached == []


def test_everyday_questions_are_searched_beside_the_formal_ones(tmp_path, answerer):
    (tmp_path / "a.toml").write_text(
        'source = "工伤保险条例"\n[[article]]\nnumber = 17\nzh = "z"\nen = "e"\n'
        'asked = ["工伤认定申请期限"]\n'
        'everyday = ["工人摔伤了几天内要报"]\neveryday_en = ["how soon do we report an injury"]\n',
        encoding="utf-8",
    )
    [note] = load_notes({("工伤保险条例", 17)}, tmp_path).values()
    assert note.questions == ("工伤认定申请期限", "工人摔伤了几天内要报", "how soon do we report an injury")
    shipped = [a.note for a in answerer.articles.articles if a.note is not None]
    # written for every article (one or two where nobody outside the agency asks), less the
    # few dropped for being too close to a question of the eval sets
    assert sum(bool(note.everyday) for note in shipped) >= 0.99 * len(shipped)
    assert sum(len(note.everyday) for note in shipped) >= 3 * len(shipped)


def test_a_bad_note_is_refused_with_every_problem_listed(tmp_path):
    (tmp_path / "a.toml").write_text(
        'source = "工伤保险条例"\n'
        '[[article]]\nnumber = 17\nzh = "单位30日内申请工伤认定"\nen = "30 days"\n'
        '[[article]]\nnumber = 17\nzh = "again"\nen = "again"\n'
        '[[article]]\nnumber = 999\nzh = "x"\nen = "x"\n'
        '[[article]]\nnumber = 18\nzh = "no English"\n',
        encoding="utf-8",
    )
    (tmp_path / "b.toml").write_text('source = "住房公积金管理条例"\n', encoding="utf-8")
    (tmp_path / "c.toml").write_text("source = [", encoding="utf-8")
    existing = {("工伤保险条例", n) for n in range(1, 68)}
    with pytest.raises(KnowledgeBaseError) as refused:
        load_notes(existing, tmp_path)
    problems = "\n".join(refused.value.problems)
    assert "noted twice" in problems and "no such article" in problems
    assert "'zh' and 'en' are both needed" in problems and "unknown source" in problems
    assert "c.toml" in problems and len(refused.value.problems) == 5


@pytest.mark.parametrize("language", ["zh_Hans", "en"])
def test_the_summary_is_shown_above_the_quoted_article(answerer, language):
    article = next(a for a in answerer.articles.articles if a.citation == "工伤保险条例 第十七条")
    assert article.note is not None
    t = Translator(language)
    text = answer_text(Answer(AnswerStatus.ARTICLE, articles=(article,)), t)
    summary = t("ask.article_summary", summary=article.note.summary(language))
    assert summary in text and article.text in text
    assert text.index(summary) < text.index(article.text)
