"""The text of an answer, as the bot sends it and `pension-bot ask` prints it."""

from __future__ import annotations

from functools import cache

from content.i18n import Translator
from content.knowledge.answering import MAX_QUESTION_CHARS, Answer, AnswerStatus
from content.knowledge.articles import Article
from content.knowledge.model import Entry, Source, load_sources

BUTTON_CHARS = 40


def citations_text(entry: Entry, language: str) -> str:
    separator = "；" if language == "zh_Hans" else "; "
    return separator.join(citation.render(language) for citation in entry.citations)


def entry_text(entry: Entry, t: Translator) -> str:
    local = entry.text(t.language)
    return t(
        "ask.answer",
        question=local.question,
        answer=local.answer,
        sources=citations_text(entry, t.language),
        reviewed=t.date(entry.reviewed),
    )


@cache
def _sources() -> dict[str, Source]:
    return load_sources()


def article_citation(article: Article, language: str) -> str:
    """'工伤保险条例 第十七条' in Chinese, 'Regulations on Work-Related Injury Insurance, Art. 17'
    in English."""
    return article.citation if language == "zh_Hans" else article.english(_sources())


def article_quote(article: Article, t: Translator) -> str:
    """The law's name and number, the project's plain-words summary where it has one, then
    the article's Chinese text."""
    quote = t("ask.article_quote", citation=article_citation(article, t.language), text=article.text)
    if article.note is None:
        return quote
    first, _, rest = quote.partition("\n")
    summary = t("ask.article_summary", summary=article.note.summary(t.language))
    return f"{first}\n{summary}\n{rest}"


def articles_text(articles: tuple[Article, ...], t: Translator) -> str:
    """The articles quoted, each with its summary."""
    return t("ask.article", articles="\n\n".join(article_quote(article, t) for article in articles))


def answer_text(answer: Answer, t: Translator, *, queued: bool = False) -> str:
    if answer.status is AnswerStatus.ANSWERED and answer.entry is not None:
        return entry_text(answer.entry, t)
    if answer.status is AnswerStatus.ARTICLE and answer.articles:
        return articles_text(answer.articles, t)
    if answer.status is AnswerStatus.UNSURE:
        text = t("ask.unsure")
        if answer.articles:
            separator = "；" if t.language == "zh_Hans" else "; "
            citations = separator.join(article_citation(a, t.language) for a in answer.articles)
            text += "\n\n" + t("ask.closest_articles", citations=citations)
        if answer.related:
            text += "\n\n" + t("ask.closest")
        return text + "\n\n" + t("ask.queued" if queued else "ask.not_queued")
    if answer.status is AnswerStatus.ELSEWHERE and answer.elsewhere is not None:
        return t("ask.elsewhere", referral=answer.elsewhere.referral(t.language))
    if answer.status is AnswerStatus.TOO_LONG:
        return t("ask.too_long", limit=MAX_QUESTION_CHARS)
    if answer.status is AnswerStatus.UNCLEAR:
        return t("ask.unclear")
    return t("ask.empty")


def button_label(entry: Entry, language: str) -> str:
    question = entry.text(language).question
    return question if len(question) <= BUTTON_CHARS else question[: BUTTON_CHARS - 1] + "…"
