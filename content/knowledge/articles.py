"""The articles of the eight laws and regulations, each retrievable on its own.

The official texts are shipped in content/data/laws (named by `text_file` in sources.toml).
Each article starts a line with "第X条"; chapters are "## 第X章 title" headings (sections,
"### 第X节", are part of their chapter). `ArticleIndex` finds the articles closest to a
question with the same analyzer as the knowledge base and the same BM25 fields: the article's
words (with the law's name and the chapter title) and character grams for typos.

The score of an article is comparable across questions, 0..1, computed like the knowledge
base's confidence: the share of the question's words (weighted by how rare they are among
the articles) and of its character grams that the article holds, lowered when its BM25 score
is weak, and lowered a little when the article gives none of the kinds of answer asked for
(a time limit for "多久", a penalty for "怎么罚": `_ARTICLE_INTENTS`) or belongs to a regulation
on one insurance the question does not name (`SUBJECTS`). Everyday words count as the words
the laws use (`LEGAL_TERMS`: 医院 -> 医疗机构). Articles are ranked by that score among the
best BM25 candidates. The weights were chosen by hand on a few questions per law; the
thresholds that use the score are calibrated (content/data/knowledge/calibration.toml).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from content.knowledge.bm25 import BM25Field, Rarity
from content.knowledge.model import DATA_DIR, Source, chinese_number, load_sources
from content.knowledge.notes import NOTES_DIR, ArticleNote, load_notes
from content.knowledge.text import TextAnalyzer, intents

LAWS_DIR = DATA_DIR.parent / "laws"

_NUMERAL = "[零一二两三四五六七八九十百千]+"
_ARTICLE_LINE = re.compile(rf"^第({_NUMERAL})条(?:[ \u3000]+|$)(.*)$")
_CHAPTER_LINE = re.compile(rf"^#+\s*第{_NUMERAL}章\s*(.*)$")
_DIGITS = "零一二三四五六七八九"

# Everyday words and the words the laws use for them, for searching the articles only (the
# knowledge base's synonyms.toml maps the other way, to the entries' words).
LEGAL_TERMS = {
    "医院": "医疗机构",
    "诊所": "医疗机构",
    "药店": "药品经营单位",
    "医保基金": "社会保险基金",
    "医保": "社保",
    "基金会": "基金",
    "社保基金": "社会保险基金",
    "骗保": "骗取",
    "受伤": "事故伤害",
    "工伤认定": "认定",
    "辞退": "解除",
    "开除": "解除",
    "炒鱿鱼": "解除",
    "赔偿金": "经济补偿",
    "补偿金": "经济补偿",
    "领": "领取",
    "失业金": "失业保险金",
}
# What kind of answer a question asks for (text.intents) and what an article that gives it
# says: a time limit, an amount or share, a penalty, the documents to bring.
_ARTICLE_INTENTS = {
    "when": re.compile(r"\d+\s*(?:日|天|个月|年|个工作日)|日内|月内|年内|工作日|之日起|期限|时限|最长|期间"),
    "amount": re.compile(r"%|百分之|比例|费率|倍|标准|数额|金额|基数"),
    "penalty": re.compile(r"罚款|处罚|吊销|责令|追究|法律责任|赔偿"),
    "documents": re.compile(r"材料|证明|证件|提交|提供|资料"),
}
INTENT_WEIGHT = 0.25
# A regulation about one insurance answers questions about that insurance: its articles lose
# this share of their score when the question does not name the subject.
SUBJECTS = {"工伤保险条例": "工伤", "失业保险条例": "失业"}
OFF_SUBJECT = 0.15  # an article giving none of the kinds of answer asked for loses this share


def chinese_numeral(number: int) -> str:
    """17 -> '十七', 58 -> '五十八', 100 -> '一百', 105 -> '一百零五', 110 -> '一百一十'
    (as article numbers are written; the inverse of `model.chinese_number`)."""
    if number <= 0 or number >= 1000:
        raise ValueError(f"article number out of range: {number}")
    if number < 10:
        return _DIGITS[number]
    if number < 20:
        return "十" + (_DIGITS[number % 10] if number % 10 else "")
    if number < 100:
        return _DIGITS[number // 10] + "十" + (_DIGITS[number % 10] if number % 10 else "")
    head, rest = _DIGITS[number // 100] + "百", number % 100
    if rest == 0:
        return head
    if rest < 10:
        return head + "零" + _DIGITS[rest]
    if rest < 20:
        return head + "一" + chinese_numeral(rest)
    return head + chinese_numeral(rest)


@dataclass(frozen=True)
class Article:
    source: str  # as cited: 工伤保险条例
    number: int
    text: str  # the article's full text, without its heading "第X条"
    chapter: str = ""  # the chapter's title (总则), if the law has chapters
    # the project's plain-words summary, where it has one (long: left out of the repr)
    note: ArticleNote | None = field(default=None, repr=False, compare=False)

    @property
    def citation(self) -> str:
        """As entries cite it: '工伤保险条例 第十七条'."""
        return f"{self.source} 第{chinese_numeral(self.number)}条"

    def english(self, sources: dict[str, Source]) -> str:
        """'Regulations on Work-Related Injury Insurance, Art. 17'."""
        source = sources.get(self.source)
        return f"{source.english if source else self.source}, Art. {self.number}"


def parse_law(source: str, text: str) -> list[Article]:
    """The articles of one law's markdown text, in order."""
    articles: list[Article] = []
    chapter = ""
    number: int | None = None
    lines: list[str] = []

    def close() -> None:
        if number is not None:
            body = "\n".join(line for line in lines).strip()
            articles.append(Article(source, number, re.sub(r"\n{2,}", "\n", body), chapter))

    for raw in text.splitlines():
        line = raw.strip()
        heading = _CHAPTER_LINE.match(line)
        if heading:
            close()
            number, lines = None, []
            chapter = re.sub(r"\s+", "", heading.group(1))
            continue
        if line.startswith("#"):  # a section heading or the title: not article text
            continue
        article = _ARTICLE_LINE.match(line)
        if article:
            close()
            number, lines = chinese_number(article.group(1)), [article.group(2)]
            continue
        if number is not None:
            lines.append(line)
    close()
    return articles


def load_articles(
    laws_dir: Path = LAWS_DIR, sources: dict[str, Source] | None = None, notes_dir: Path = NOTES_DIR
) -> list[Article]:
    """Every article of every law in sources.toml whose text the product holds, each with
    its note (content/knowledge/notes.py) where there is one."""
    articles: list[Article] = []
    for source in (sources or load_sources()).values():
        if source.text_file:
            text = (laws_dir / source.text_file).read_text(encoding="utf-8")
            articles.extend(parse_law(source.name, text))
    notes = load_notes({(a.source, a.number) for a in articles}, notes_dir)
    return [replace(a, note=notes.get((a.source, a.number))) for a in articles]


@dataclass(frozen=True)
class ArticleMatch:
    """One article found for a question: its score (0..1) and what the score is made of."""

    article: Article
    score: float
    total: float  # the weighted BM25 score over all fields
    from_asked: float  # the part of `total` from the closest of the note's questions
    word_cover: float  # the share of the question's topic words (rarity-weighted) it holds
    gram_cover: float  # the same for character grams
    intent_match: float  # the share of the kinds of answer asked for that it gives (1: none asked)
    off_subject: bool  # a one-insurance regulation, and the question does not name that insurance


class ArticleIndex:
    """BM25 over the articles: the words of the text, the law's name, the chapter and the
    note's summaries; the note's questions, each its own document (an article scores as its
    closest question); and character grams."""

    WORDS = 1.0
    ASKED = 1.0
    GRAMS = 0.2
    WORD_SHARE = 0.9  # of the coverage; the rest is the character grams' (typos)
    STRONG_SCORE = 22.0  # a weighted BM25 score this high counts as a strong match
    CANDIDATES = 20  # the best BM25 articles that are scored by coverage

    def __init__(self, articles: list[Article], analyzer: TextAnalyzer, *, k1: float = 1.2, b: float = 0.5):
        self.articles = list(articles)
        self.analyzer = analyzer
        word_docs: list[tuple[int, list[str]]] = []
        asked_docs: list[tuple[int, list[str]]] = []
        gram_docs: list[tuple[int, list[str]]] = []
        self._words: list[set[str]] = []
        self._grams: list[set[str]] = []
        self._gives: list[frozenset[str]] = []
        for number, article in enumerate(self.articles):
            note = article.note
            texts = [article.text, f"{article.source} {article.chapter}"]
            questions = [note.zh, note.en, *note.questions] if note else []
            words = [word for text in texts + questions[:2] for word in analyzer.words(text)]
            grams = [gram for text in texts + questions for gram in analyzer.grams(text)]
            asked = [analyzer.words(question) for question in questions]
            word_docs.append((number, words))
            asked_docs.extend((number, tokens) for tokens in asked)
            gram_docs.append((number, grams))
            self._words.append(set(words).union(*asked))
            self._grams.append(set(grams))
            self._gives.append(
                frozenset(
                    kind
                    for kind, pattern in _ARTICLE_INTENTS.items()
                    if any(pattern.search(text) for text in (article.text, article.chapter, *questions[:1]))
                )
            )
        count = len(self.articles)
        self._word_field = BM25Field(word_docs, count, k1, b)
        self._asked_field = BM25Field(asked_docs or [(0, [])], count, k1, b)
        self._gram_field = BM25Field(gram_docs, count, k1, b)
        self._word_rarity = Rarity.of(self._words)
        self._gram_rarity = Rarity.of(self._grams)
        analyzer.learn(token for _, tokens in word_docs + asked_docs for token in tokens)

    def knows(self, word: str) -> bool:
        return word in self._word_rarity

    def search(self, question: str, limit: int = 5) -> list[tuple[Article, float]]:
        """The closest articles, best first, each with its score (0..1)."""
        return [(found.article, found.score) for found in self.candidates(question, limit)]

    def candidates(self, question: str, limit: int = 5) -> list[ArticleMatch]:
        """The closest articles, best first, with the parts of their scores (which the
        answerer's confidence model weighs: content/knowledge/confidence.py)."""
        if not self.articles:
            return []
        text = self.analyzer.read_question(question)
        groups = [
            (*group, LEGAL_TERMS[group[0]]) if group[0] in LEGAL_TERMS else group
            for group in self.analyzer.word_groups(text, normalised=True)
        ]
        words = [form for group in groups for form in group]
        grams = self.analyzer.grams(text, normalised=True)
        if not words and not grams:
            return []
        asked = intents(text) & _ARTICLE_INTENTS.keys()
        # Words that only say what kind of answer is asked for (多长时间, 多少) are weighed by
        # the intents, not as topic words the article should hold.
        topic = [
            group for group in groups if not intents(group[0]) or any(f in self._word_rarity for f in group)
        ]
        named = " ".join(words) + " " + text
        from_asked = self.ASKED * self._asked_field.scores(words)
        total = (
            self.WORDS * self._word_field.scores(words)
            + from_asked
            + self.GRAMS * self._gram_field.scores(grams)
        )
        order = [int(i) for i in np.argsort(-total, kind="stable")[: self.CANDIDATES] if total[i] > 0]
        gram_groups: list[tuple[str, ...]] = [(gram,) for gram in grams]
        found = []
        for i in order:
            word_cover = self._word_rarity.coverage(topic, self._words[i])
            gram_cover = self._gram_rarity.coverage(gram_groups, self._grams[i])
            coverage = self.WORD_SHARE * word_cover + (1 - self.WORD_SHARE) * gram_cover
            strength = min(1.0, float(total[i]) / self.STRONG_SCORE)
            intent_match = len(asked & self._gives[i]) / len(asked) if asked else 1.0
            if asked:
                strength *= 1 - INTENT_WEIGHT + INTENT_WEIGHT * intent_match
            subject = SUBJECTS.get(self.articles[i].source)
            off_subject = bool(subject and subject not in named)
            if off_subject:
                strength *= 1 - OFF_SUBJECT
            found.append(
                ArticleMatch(
                    self.articles[i],
                    round(float(coverage * strength), 3),
                    float(total[i]),
                    float(from_asked[i]),
                    word_cover,
                    gram_cover,
                    intent_match,
                    off_subject,
                )
            )
        found.sort(key=lambda match: (-match.score, -match.total))
        return found[:limit]
