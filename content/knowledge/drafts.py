"""Staff answers as draft knowledge-base entries, for an editor: never published as they are.

The draft file is TOML in the entries' own format, with the staff answer in the language
the employer asked in and TODO marks for the rest. It carries no citations, and the loader
refuses an entry without one, so a draft cannot reach users until an editor has finished it
(checked the answer against the law text, added the sources, the other language, related
entries) and moved it into content/data/knowledge/entries/.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class AnsweredQuestion:
    question_id: int
    language: str
    question: str
    answer: str
    closest: tuple[str, ...]
    asked_on: date


def _string(text: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes), and stays on one line.
    return json.dumps(text, ensure_ascii=False)


def draft_entries(questions: list[AnsweredQuestion], today: date) -> str:
    lines = [
        f"# DRAFT entries from staff answers, exported {today.isoformat()} for an editor.",
        "# NOT PUBLISHED. Before moving an entry into content/data/knowledge/entries/: check the",
        "# answer against the law text, add citations (read each article first), write the other",
        "# language, set the topic and related entries, and choose a lasting id. The loader",
        "# refuses an entry without citations, so an unfinished draft cannot go live.",
        "",
    ]
    for item in questions:
        asked, other = ("zh", "en") if item.language == "zh_Hans" else ("en", "zh")
        lines += [
            "[[entry]]",
            f'id = "draft-q{item.question_id}"',
            'topic = "TODO"',
            f"reviewed = {today.isoformat()}",
            'citations = []  # TODO: e.g. "社会保险法 第五十八条"',
            f"related = {json.dumps(list(item.closest), ensure_ascii=False)}  # closest entries found; check",
            f"# asked on {item.asked_on.isoformat()}, queue question #{item.question_id}",
            "",
            f"[entry.{asked}]",
            f"question = {_string(item.question)}",
            "phrasings = []",
            "keywords = []",
            f"answer = {_string(item.answer)}",
            "",
            f"[entry.{other}]",
            'question = "TODO"',
            "phrasings = []",
            "keywords = []",
            'answer = "TODO"',
            "",
        ]
    return "\n".join(lines)
