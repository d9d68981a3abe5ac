"""Plain-words notes on the articles of the laws (content/data/knowledge/article_notes/*.toml).

A note gives one article a one-line summary in Chinese and English and the questions it
answers: `asked`, in the words of the law's own topic, and `everyday`, as people type them on
a phone (咋办, 我们店, 社保局 for 经办机构), written blind from the law texts alone. The
summary is shown above the quoted article; the summary and the questions are searched beside
the article's own text, so that an article is found by the words employers use (受伤, 罚多少,
"how long") and by an English question, not only by the law's wording.
Loading refuses the whole set, listing every problem, when a note names an unknown law or an
article the law does not have, or lacks a language.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from content.knowledge.model import DATA_DIR, KnowledgeBaseError, read_toml_files

NOTES_DIR = DATA_DIR / "article_notes"


@dataclass(frozen=True)
class ArticleNote:
    source: str
    number: int
    zh: str
    en: str
    asked: tuple[str, ...] = ()
    asked_en: tuple[str, ...] = ()
    everyday: tuple[str, ...] = ()
    everyday_en: tuple[str, ...] = ()

    def summary(self, language: str) -> str:
        return self.zh if language == "zh_Hans" else self.en

    @property
    def questions(self) -> tuple[str, ...]:
        return (*self.asked, *self.asked_en, *self.everyday, *self.everyday_en)


def load_notes(
    articles: set[tuple[str, int]], directory: Path = NOTES_DIR
) -> dict[tuple[str, int], ArticleNote]:
    """The notes of every file in `directory`, by (law, article number); `articles` are the
    (law, number) pairs that exist."""
    notes: dict[tuple[str, int], ArticleNote] = {}
    problems: list[str] = []
    laws = {source for source, _ in articles}
    for path, data in read_toml_files(directory, problems):
        source = str(data.get("source", ""))
        if source not in laws:
            problems.append(f"{path.name}: unknown source {source!r}")
            continue
        for raw in data.get("article", []):
            number = raw.get("number")
            where = f"{path.name}: {source} article {number}"
            if not isinstance(number, int) or (source, number) not in articles:
                problems.append(f"{where}: no such article")
                continue
            if (source, number) in notes:
                problems.append(f"{where}: noted twice")
                continue
            zh, en = str(raw.get("zh", "")).strip(), str(raw.get("en", "")).strip()
            if not zh or not en:
                problems.append(f"{where}: 'zh' and 'en' are both needed")
                continue
            notes[(source, number)] = ArticleNote(
                source,
                number,
                zh,
                en,
                *(_questions(raw, key) for key in ("asked", "asked_en", "everyday", "everyday_en")),
            )
    if problems:
        raise KnowledgeBaseError(problems)
    return notes


def _questions(raw: dict, key: str) -> tuple[str, ...]:
    return tuple(str(q).strip() for q in raw.get(key, []) if str(q).strip())
