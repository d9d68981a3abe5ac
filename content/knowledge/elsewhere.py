"""Questions another body answers (content/data/knowledge/elsewhere.toml).

Employers ask the social-insurance assistant about the housing provident fund, taxes,
commercial insurance and the like, in the same breath as social insurance ("五险一金"). The
laws the assistant quotes say nothing on these, yet their words overlap (比例, 缴, 公司), so
a search finds some article that looks close. Naming the topic is the surer sign: such a
question gets a kind pointer to the right office instead of a wrong article, and is not
queued for staff, who could only give the same pointer.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from content.knowledge.model import DATA_DIR, KnowledgeBaseError

ELSEWHERE_FILE = DATA_DIR / "elsewhere.toml"


@dataclass(frozen=True)
class ElsewhereTopic:
    id: str
    zh: str
    en: str

    def referral(self, language: str) -> str:
        return self.zh if language == "zh_Hans" else self.en


def _pattern(terms: list[str]) -> re.Pattern[str]:
    """Chinese terms anywhere; Latin ones as whole words, the spaces between them optional."""
    forms = []
    for term in terms:
        term = _fold(term)
        if re.search(r"[a-z]", term):
            forms.append(r"\b" + r"\s*".join(map(re.escape, term.split())) + r"\b")
        else:
            forms.append(re.escape(term))
    return re.compile("|".join(forms))


def _fold(text: str) -> str:
    """Lower case, compatibility forms folded, tone marks dropped (gōngjījīn -> gongjijin)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


class Elsewhere:
    def __init__(self, core: list[str], topics: list[tuple[ElsewhereTopic, list[str]]]) -> None:
        self._core = _pattern(core)
        self._topics = [(topic, _pattern(terms)) for topic, terms in topics]

    def topic(self, normalised_question: str) -> ElsewhereTopic | None:
        """The topic a question (normalised: simplified characters) is about, when it names
        one and does not also ask about social insurance itself."""
        text = _fold(normalised_question)
        if self._core.search(text):
            return None
        return next((topic for topic, pattern in self._topics if pattern.search(text)), None)


def load_elsewhere(path: Path = ELSEWHERE_FILE) -> Elsewhere:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise KnowledgeBaseError([f"{path.name}: not valid TOML ({error})"]) from error
    problems: list[str] = []
    topics: list[tuple[ElsewhereTopic, list[str]]] = []
    for number, raw in enumerate(data.get("topic", []), start=1):
        terms = [str(term).strip() for term in raw.get("terms", []) if str(term).strip()]
        topic = ElsewhereTopic(
            str(raw.get("id", "")), str(raw.get("zh", "")).strip(), str(raw.get("en", "")).strip()
        )
        if not topic.id or not terms or not topic.zh or not topic.en:
            problems.append(f"{path.name} topic {number}: 'id', 'terms', 'zh' and 'en' are all needed")
            continue
        topics.append((topic, terms))
    core = [str(term) for term in data.get("core", [])]
    if not core:
        problems.append(f"{path.name}: 'core' (the social-insurance terms) is needed")
    if problems:
        raise KnowledgeBaseError(problems)
    return Elsewhere(core, topics)


@cache
def default_elsewhere() -> Elsewhere:
    return load_elsewhere()
