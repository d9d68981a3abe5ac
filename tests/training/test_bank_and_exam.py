"""The question bank's checks, exam papers, marking, refusals and certificate codes (issue 19),
as plain Python: no database, no Telegram."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from training.bank import QuestionBankError, QuestionKind, load_bank, stem_key
from training.certificates import CertificateNumber, code_matches, parse_number, verification_code
from training.exam import (
    ExamRules,
    NotEnoughQuestions,
    Refusal,
    draw_paper,
    mark,
    sitting_refusal,
    submission_refusal,
)

ARTICLES = {("社会保险法", n) for n in range(1, 99)} | {("失业保险条例", n) for n in range(1, 34)}


def _single(
    n: int, topic: str = "contributions", answer: str = "B", citation: str = "社会保险法 第八十六条"
) -> str:
    return f'''
[[question]]
id = "q-{topic}-{n}"
topic = "{topic}"
kind = "single"
answer = "{answer}"
citations = ["{citation}"]
[question.zh]
stem = "{topic}第{n}题：欠缴社保费的滞纳金每天按多少加收？"
options = ["万分之二", "万分之五", "千分之二", "千分之五"]
explanation = "社会保险法第八十六条：按日加收万分之五。"
[question.en]
stem = "Question {n}: the daily late fee?"
options = ["0.02 %", "0.05 %", "0.2 %", "0.5 %"]
explanation = "Art. 86: 0.05 % a day."
'''


def _bank(tmp_path: Path, *texts: str) -> Path:
    folder = tmp_path / "questions"
    folder.mkdir(exist_ok=True)
    (folder / "a.toml").write_text("\n".join(texts), encoding="utf-8")
    return folder


def test_a_good_bank_loads_with_every_kind(tmp_path):
    multiple = """
[[question]]
id = "q-multi"
topic = "benefits"
kind = "multiple"
answer = ["A", "C"]
citations = ["社会保险法 第五十一条"]
[question.zh]
stem = "哪些情况停发失业金？"
options = ["重新就业", "生病", "移居境外"]
explanation = "第五十一条列了重新就业、移居境外等。"
[question.en]
stem = "What stops unemployment benefit?"
options = ["a new job", "illness", "moving abroad"]
explanation = "Art. 51."
"""
    true_false = """
[[question]]
id = "q-tf"
topic = "benefits"
kind = "true_false"
answer = false
citations = ["失业保险条例 第十七条"]
[question.zh]
stem = "失业金最长可以领36个月。"
explanation = "最长24个月。"
[question.en]
stem = "Unemployment benefit can last 36 months."
explanation = "At most 24 months."
"""
    bank = load_bank(_bank(tmp_path, _single(1), multiple, true_false), ARTICLES)
    kinds = {q.id: q.kind for q in bank.questions}
    assert kinds == {
        "q-contributions-1": QuestionKind.SINGLE,
        "q-multi": QuestionKind.MULTIPLE,
        "q-tf": QuestionKind.TRUE_FALSE,
    }
    assert bank.get("q-multi").is_right(["C", "A"]) and not bank.get("q-multi").is_right(["A"])
    assert bank.get("q-tf").is_right(["false"]) and bank.get("q-tf").choices() == ("true", "false")


def test_a_bad_bank_is_refused_with_every_problem_listed(tmp_path):
    no_answer = _single(2).replace('answer = "B"\n', "")
    wrong_letter = _single(3, answer="E")
    unknown_article = _single(4, citation="社会保险法 第九百条")
    unknown_law = _single(5, citation="住房公积金管理条例 第三条")
    repeated = _single(6).replace("第6题：", "第 1 题，")  # the stem of question 1, spaced
    twice = _single(1)
    folder = _bank(tmp_path, _single(1), no_answer, wrong_letter, unknown_article, unknown_law, repeated)
    (folder / "b.toml").write_text(twice, encoding="utf-8")
    (folder / "c.toml").write_text("[[question]\n", encoding="utf-8")
    with pytest.raises(QuestionBankError) as refused:
        load_bank(folder, ARTICLES)
    problems = "\n".join(refused.value.problems)
    assert "q-contributions-2" in problems and "answer is missing" in problems
    assert "q-contributions-3" in problems
    assert "'社会保险法 第九百条' is not an article" in problems
    assert "'住房公积金管理条例 第三条' is not an article" in problems
    assert "the same question as q-contributions-1" in problems
    assert "'q-contributions-1' is used twice" in problems
    assert "c.toml: not valid TOML" in problems


def test_stems_that_differ_only_in_spacing_and_punctuation_are_one_question():
    assert stem_key("第1题：滞纳金每天多少？") == stem_key("第 1 题, 滞纳金每天多少")


RULES = ExamRules({"contributions": 3, "benefits": 1}, timedelta(minutes=30), 0.8, timedelta(days=7))


def _exam_bank(tmp_path):
    texts = [_single(n) for n in range(1, 6)] + [_single(n, topic="benefits") for n in range(1, 3)]
    return load_bank(_bank(tmp_path, *texts), ARTICLES)


def test_a_paper_has_the_mix_drawn_at_random_per_candidate(tmp_path):
    bank = _exam_bank(tmp_path)
    papers = {draw_paper(bank, RULES, random.Random(seed)).question_ids for seed in range(20)}
    assert len(papers) > 1  # candidates get different papers
    for paper in papers:
        topics = [bank.get(q).topic for q in paper]
        assert sorted(topics) == ["benefits", "contributions", "contributions", "contributions"]
    with pytest.raises(NotEnoughQuestions):
        draw_paper(
            bank, ExamRules({"benefits": 5}, RULES.time_limit, 0.8, RULES.retake_after), random.Random(1)
        )


def test_marking_needs_exactly_the_answer_and_the_pass_mark(tmp_path):
    bank = _exam_bank(tmp_path)
    paper = draw_paper(bank, RULES, random.Random(3))
    all_right = {q: ["B"] for q in paper.question_ids}
    assert mark(bank, paper, all_right, RULES).passed
    one_wrong = {**all_right, paper.question_ids[0]: ["A"]}
    marking = mark(bank, paper, one_wrong, RULES)
    assert (marking.right, marking.total, marking.passed) == (3, 4, False)  # 75 % < 80 %
    assert marking.wrong == (paper.question_ids[0],)
    unanswered = mark(bank, paper, {}, RULES)
    assert unanswered.right == 0 and not unanswered.passed


def test_a_late_second_or_someone_elses_submission_is_refused():
    start = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    ok = dict(candidate=7, submitted_by=7, started_at=start, submitted_at=None, rules=RULES)
    assert submission_refusal(**ok, now=start + timedelta(minutes=30)) is None
    assert submission_refusal(**ok, now=start + timedelta(minutes=32)) is Refusal.LATE
    assert submission_refusal(**{**ok, "submitted_by": 8}, now=start) is Refusal.NOT_YOURS
    assert submission_refusal(**{**ok, "submitted_at": start}, now=start) is Refusal.ALREADY_SUBMITTED


def test_a_retake_waits_for_the_waiting_period():
    failed = datetime(2026, 12, 1, tzinfo=UTC)
    assert sitting_refusal(
        passed=False, last_failed_at=failed, now=failed + timedelta(days=3), rules=RULES
    ) == (
        Refusal.TOO_SOON,
        failed + timedelta(days=7),
    )
    assert (
        sitting_refusal(passed=False, last_failed_at=failed, now=failed + timedelta(days=7), rules=RULES)
        is None
    )
    assert (
        sitting_refusal(passed=True, last_failed_at=None, now=failed, rules=RULES)[0]
        is Refusal.PASSED_ALREADY
    )


def test_a_certificate_checks_by_its_number_and_code_and_a_tampered_one_fails():
    key = b"k" * 32
    number = CertificateNumber(2026, "110105", 123)
    code = verification_code(number, key)
    assert str(number) == "PXC-2026-110105-000123"
    assert parse_number(" pxc-2026-110105-000123 ") == number
    assert code_matches(number, code.lower(), key)
    assert not code_matches(CertificateNumber(2026, "110105", 124), code, key)  # another number
    assert not code_matches(number, code, b"x" * 32)  # another agency's key
    assert parse_number("PXC-2026-11010-000123") is None and parse_number("") is None


def test_the_shipped_bank_loads_with_every_citation_an_article_of_the_law_texts():
    """At least 120 questions (issue 19), every check passed against the shipped law texts,
    and enough on each topic of the exam's mix to draw a paper."""
    from training.exam import load_rules

    bank = load_bank()
    rules = load_rules()
    assert len(bank.questions) >= 120
    assert {q.kind for q in bank.questions} == set(QuestionKind)
    topics = bank.by_topic()
    assert all(len(topics.get(topic, [])) >= 2 * count for topic, count in rules.mix.items())
    paper = draw_paper(bank, rules, random.Random(2026))
    assert len(paper.question_ids) == rules.size == len(set(paper.question_ids))
