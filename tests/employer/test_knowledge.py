"""The knowledge base as data: loaded and checked at start-up, every citation real."""

from __future__ import annotations

import re
import shutil
import tomllib
from datetime import date
from pathlib import Path

import pytest

from content.knowledge.drafts import AnsweredQuestion, draft_entries
from content.knowledge.model import (
    ENTRIES_DIR,
    SOURCES_FILE,
    KnowledgeBaseError,
    chinese_number,
    load_knowledge_base,
    load_sources,
    parse_citation,
)

REPO = Path(__file__).resolve().parents[2]
LAWS = REPO / "content" / "data" / "laws"  # the vendored official texts
TOPICS = {
    "registration",
    "declaration",
    "base",
    "rates",
    "deadlines",
    "late_fees",
    "probation",
    "part_time",
    "dispatch",
    "retirees",
    "waivers",
    "arrears",
    "audit",
    "tax",
}


def test_the_base_has_at_least_80_bilingual_entries_over_every_topic():
    knowledge = load_knowledge_base()
    assert len(knowledge) >= 80
    assert TOPICS <= {entry.topic for entry in knowledge.entries}
    for entry in knowledge.entries:
        assert set(entry.texts) == {"zh_Hans", "en"}
        for local in entry.texts.values():
            assert local.question and local.answer and local.phrasings and local.keywords
        assert entry.citations and entry.reviewed <= date.today()
        assert all(knowledge.get(related) for related in entry.related)


def _chinese(number: int) -> str:
    digits = "零一二三四五六七八九"
    if number < 10:
        return digits[number]
    if number < 20:
        return "十" + (digits[number % 10] if number % 10 else "")
    if number < 100:
        return digits[number // 10] + "十" + (digits[number % 10] if number % 10 else "")
    rest = number % 100
    head = digits[number // 100] + "百"
    if rest == 0:
        return head
    return head + (
        "零" + digits[rest] if rest < 10 else _chinese(rest) if rest >= 20 else "一" + _chinese(rest)
    )


def test_every_cited_article_exists_in_the_law_text():
    assert LAWS.is_dir(), f"law texts not found at {LAWS}"
    texts: dict[str, str] = {}
    missing = []
    for entry in load_knowledge_base().entries:
        for citation in entry.citations:
            if not citation.source.text_file or citation.first_article is None:
                continue
            text = texts.setdefault(
                citation.source.text_file, (LAWS / citation.source.text_file).read_text(encoding="utf-8")
            )
            for article in range(
                citation.first_article, (citation.last_article or citation.first_article) + 1
            ):
                if not re.search(rf"^第{_chinese(article)}条", text, re.M):
                    missing.append(f"{entry.id}: {citation.text}")
    assert not missing


def test_answers_quote_only_figures_with_a_source_nearby():
    """Every percentage in a Chinese answer sits in an entry that cites something: a crude
    guard against a figure slipping in without its source."""
    for entry in load_knowledge_base().entries:
        if re.search(r"\d+(\.\d+)?%", entry.text("zh_Hans").answer):
            assert entry.citations, entry.id


def test_citations_read_in_both_languages():
    sources = load_sources()
    citation = parse_citation("社会保险法 第八十六条", sources)
    assert citation.render("zh_Hans") == "社会保险法 第八十六条"
    assert citation.render("en") == "Social Insurance Law, Art. 86"
    ranged = parse_citation("社会保险稽核办法 第五条至第七条", sources)
    assert ranged.render("en").endswith("Arts. 5-7")
    assert parse_citation("国办发〔2019〕13号", sources).first_article is None
    assert [chinese_number(n) for n in ("十九", "五十八", "二百六十六", "九")] == [19, 58, 266, 9]
    with pytest.raises(ValueError):
        parse_citation("某某法 第一条", sources)


def _copy_base(tmp_path: Path) -> Path:
    target = tmp_path / "entries"
    shutil.copytree(ENTRIES_DIR, target)
    return target


def test_a_bad_edit_refuses_the_whole_base_listing_every_problem(tmp_path):
    entries = _copy_base(tmp_path)
    (entries / "99_bad.toml").write_text(
        """
[[entry]]
id = "bad-entry"
topic = "registration"
reviewed = 2026-01-01
citations = ["不存在的法 第一条"]
related = ["no-such-entry", "bad-entry"]

[entry.zh]
question = "问题"
answer = "回答"
""",
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeBaseError) as refused:
        load_knowledge_base(entries, SOURCES_FILE)
    problems = "\n".join(refused.value.problems)
    assert "unknown source" in problems and "[en] text is missing" in problems


def test_a_related_id_that_does_not_exist_is_refused(tmp_path):
    entries = _copy_base(tmp_path)
    path = entries / "01_registration.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace('"reg-penalty"]', '"reg-nowhere"]', 1), encoding="utf-8"
    )
    with pytest.raises(KnowledgeBaseError, match="reg-nowhere"):
        load_knowledge_base(entries, SOURCES_FILE)


def test_a_staff_answer_exported_as_a_draft_cannot_go_live_unedited(tmp_path):
    text = draft_entries(
        [
            AnsweredQuestion(
                7, "zh_Hans", '年假"几天"？', "按规定…\n第二行", ("reg-employee",), date(2026, 11, 1)
            )
        ],
        date(2026, 11, 27),
    )
    data = tomllib.loads(text)
    assert data["entry"][0]["zh"]["answer"] == "按规定…\n第二行"
    entries = _copy_base(tmp_path)
    (entries / "zz_draft.toml").write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="at least one citation"):
        load_knowledge_base(entries, SOURCES_FILE)
