"""Answering: colloquial Chinese, English, traditional characters and typos find the right
entry; bad questions get a clear status; the console command prints what the bot says."""

from __future__ import annotations

import csv
import json

import pytest

from app.cli import main
from content.knowledge.answering import MAX_QUESTION_CHARS, AnswerStatus
from content.knowledge.model import DATA_DIR

EVAL = DATA_DIR / "eval"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("新员工入职多久必须给他上社保？", "reg-employee"),
        # a miss in stop 30 (an article on leaving an employer who does not pay outscored the
        # entry), answered since the closeness in meaning is weighed
        ("试用期的员工也要交社保吗", "prob-covered"),
        ("Who pays social insurance for dispatched agency workers?", "disp-who-pays"),
        ("員工簽了放棄社保的承諾書，單位還要繳嗎", "waiver-void"),  # traditional characters
        (
            "ＣＡＮ ＷＥ ＤＥＦＥＲ ＣＯＮＴＲＩＢＵＴＩＯＮＳ？ business is struggling",
            "decl-no-reduction",
        ),  # full width
    ],
)
def test_questions_as_employers_ask_them_find_the_right_entry(answerer, question, expected):
    answer = answerer.answer(question)
    assert answer.status is AnswerStatus.ANSWERED, (question, answer.confidence, answer.scores[:3])
    assert answer.entry.id == expected
    assert answer.citations and answer.related


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("滞纳今怎么算", "fee-late-rate"),  # a typo: 金 -> 今
        ("社保缴费基属怎么定", "base-what"),  # typo: 数 -> 属
        # Close to the entry (0.61, under the threshold); the best article (closing an account:
        # arrears and late fees settled first) is not the entry's: contested, handed to staff.
        ("How is the late fee on unpaid contributions worked out?", "fee-late-rate"),
    ],
)
def test_questions_near_the_threshold_find_the_right_entry_first(answerer, question, expected):
    """The search still ranks the right entry first; at the calibrated threshold (wrong answers
    at most 3 %, content/data/knowledge/calibration.toml) such a question may be handed to
    staff instead, with that entry first among the closest topics, or answered with the article
    the entry rests on, but never answered wrongly."""
    answer = answerer.answer(question)
    assert answer.scores[0][0] == expected, (question, answer.scores[:3])
    if answer.status is AnswerStatus.ANSWERED:
        assert answer.entry.id == expected and answer.citations
    elif answer.status is AnswerStatus.ARTICLE:  # the article the entry rests on, quoted
        assert set(answer.citations) & set(answerer.entry(expected).citation_strings()), answer.citations
    else:
        assert answer.status is AnswerStatus.UNSURE
        assert answer.related[0].id == expected


def test_bad_questions_get_a_clear_status(answerer):
    assert answerer.answer("").status is AnswerStatus.EMPTY
    assert answerer.answer("   \n ").status is AnswerStatus.EMPTY
    assert answerer.answer("？？？!!!").status is AnswerStatus.UNCLEAR
    assert answerer.answer("社保" * 2500).status is AnswerStatus.TOO_LONG
    assert answerer.answer("社" * (MAX_QUESTION_CHARS + 1)).status is AnswerStatus.TOO_LONG


def test_a_question_outside_the_base_is_not_answered_but_offers_the_closest_topics(answerer):
    answer = answerer.answer("公司年会抽奖奖品怎么选比较好")
    assert answer.status is AnswerStatus.UNSURE
    assert answer.entry is None and 1 <= len(answer.related) <= 3


def _accuracy(answerer, path):
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    top1 = top3 = 0
    for row in rows:
        ids = [entry_id for entry_id, _ in answerer.answer(row["question"]).scores]
        top1 += ids[:1] == [row["expected"]]
        top3 += row["expected"] in ids[:3]
    return top1 / len(rows), top3 / len(rows), len(rows)


def test_the_open_question_set_meets_its_targets(answerer):
    top1, top3, count = _accuracy(answerer, EVAL / "open.csv")
    assert count >= 60
    assert top1 >= 0.90 and top3 >= 0.97


def test_the_held_out_sets_exist_and_name_real_entries(answerer):
    for name in ("heldout.csv", "heldout2.csv", "heldout3.csv", "dev.csv", "out_of_scope.csv"):
        with (EVAL / name).open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert rows
        assert all(not row["expected"] or answerer.entry(row["expected"]) for row in rows)


def test_ask_prints_the_answer_and_its_citations_as_json(capsys):
    assert main(["ask", "单位不给员工办社保登记会怎么处罚？", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["status"] == "answered"
    assert "社会保险法 第八十四条" in printed["citations"]
    assert 0 < printed["confidence"] <= 1 and printed["answer"]


def test_ask_prints_plain_text(capsys):
    assert main(["ask", "What is the late fee rate?"]) == 0
    out = capsys.readouterr().out
    assert "Social Insurance Law, Art. 86" in out and "citations: 社会保险法 第八十六条" in out


def test_eval_answers_prints_correct_wrong_handed_over_and_top1_top3(capsys):
    assert main(["eval", "answers", str(EVAL / "open.csv"), str(EVAL / "out_of_scope.csv")]) == 0
    out = capsys.readouterr().out
    assert "correct" in out and "wrong" in out and "handed over" in out and "total:" in out
    assert "top-1" in out and "top-3" in out
