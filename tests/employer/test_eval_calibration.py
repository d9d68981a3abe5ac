"""`eval answers` counts correct / wrong / handed over; `calibrate answers` fits the
confidence model and chooses its threshold on the dev sets; the committed calibration loads."""

from __future__ import annotations

import argparse
import json
import tomllib
from collections.abc import Collection
from pathlib import Path

import pytest

from app.commands import calibrate as calibrate_commands
from app.commands import employer as employer_commands
from app.commands._calibrate_answers import calibrate_answers_command
from content.knowledge import answering
from content.knowledge.answering import Answer, AnswerStatus, Calibration, load_calibration
from content.knowledge.articles import Article
from content.knowledge.confidence import ARTICLE_FEATURES, ENTRY_FEATURES, Candidate, ConfidenceModel, choose
from content.knowledge.evaluation import Outcome, judge, reliability, wilson_upper
from content.knowledge.fitting import choose_threshold, fit, folds_by_set, out_of_fold, outcomes
from content.knowledge.model import DATA_DIR, load_knowledge_base

KNOWLEDGE = load_knowledge_base()
ENTRY = KNOWLEDGE.get("fee-late-rate")
INJURY_17 = Article("工伤保险条例", 17, "职工发生事故伤害……")


class FakeAnswerer:
    """Answers from a table: question -> Answer; anything else is handed over."""

    def __init__(self, table: dict[str, Answer]) -> None:
        self.table = table
        self.knowledge = KNOWLEDGE
        self.calibration = Calibration(threshold=0.7)

    def answer(self, question: str, leave_out: Collection[str] = ()) -> Answer:
        return self.table.get(question, Answer(AnswerStatus.UNSURE, 0.1))


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="pension-bot")
    subparsers = top.add_subparsers(dest="command", required=True)
    calibrate_commands.register(subparsers)
    employer_commands.register(subparsers)
    return top


def run(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    return args.handler(args)


def test_judge_counts_entries_citations_and_hand_overs() -> None:
    assert ENTRY is not None
    by_entry = Answer(AnswerStatus.ANSWERED, 0.9, ENTRY)
    by_article = Answer(AnswerStatus.ARTICLE, 0.1, articles=(INJURY_17,), article_confidence=0.8)
    unsure = Answer(AnswerStatus.UNSURE, 0.1, articles=(INJURY_17,))
    assert judge(by_entry, "fee-late-rate") is Outcome.CORRECT
    assert judge(by_entry, "fee-example") is Outcome.WRONG
    assert judge(by_entry, "") is Outcome.WRONG  # answering an out-of-scope question
    # any of the citations counts, spaces ignored
    assert judge(by_article, "社会保险法 第三十六条|工伤保险条例第十七条") is Outcome.CORRECT
    assert judge(by_article, "工伤保险条例 第十八条") is Outcome.WRONG
    assert judge(unsure, "工伤保险条例 第十七条") is Outcome.HANDED_OVER  # listed, not answered
    assert judge(unsure, "") is Outcome.HANDED_OVER


def test_quoting_the_article_an_expected_entry_rests_on_is_right() -> None:
    # fee-fine and fee-late-rate both rest on 社会保险法 第八十六条
    assert ENTRY is not None and KNOWLEDGE.get("fee-fine") is not None
    article_86 = Article("社会保险法", 86, "用人单位未按时足额缴纳社会保险费的……")
    quoted = Answer(AnswerStatus.ARTICLE, 0.9, articles=(article_86,))
    assert judge(quoted, "fee-fine", KNOWLEDGE) is Outcome.CORRECT
    assert judge(quoted, "fee-fine") is Outcome.WRONG  # without the knowledge base: ids only
    assert (
        judge(Answer(AnswerStatus.ARTICLE, 0.9, articles=(INJURY_17,)), "fee-fine", KNOWLEDGE)
        is Outcome.WRONG
    )
    # another entry that shares the article is another answer
    assert judge(Answer(AnswerStatus.ANSWERED, 0.9, ENTRY), "fee-fine", KNOWLEDGE) is Outcome.WRONG


def test_eval_answers_prints_correct_wrong_and_handed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ENTRY is not None
    table = {
        "滞纳金多少": Answer(AnswerStatus.ANSWERED, 0.9, ENTRY),
        "工伤认定期限": Answer(AnswerStatus.ARTICLE, 0.1, articles=(INJURY_17,), article_confidence=0.7),
        "工伤要什么材料": Answer(AnswerStatus.ARTICLE, 0.1, articles=(INJURY_17,), article_confidence=0.5),
        "公积金": Answer(AnswerStatus.ANSWERED, 0.4, ENTRY),
    }
    monkeypatch.setattr(answering, "default_answerer", lambda: FakeAnswerer(table))
    questions = tmp_path / "tiny.csv"
    questions.write_text(
        "question,expected\n"
        "滞纳金多少,fee-late-rate\n"
        "工伤认定期限,工伤保险条例 第十七条\n"
        "工伤要什么材料,工伤保险条例 第十八条\n"
        "公积金,\n"
        "年终奖,\n"
        "试用期,prob-covered\n",
        encoding="utf-8",
    )
    assert run(["eval", "answers", str(questions), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    figures = report["files"][str(questions)]
    assert (figures["correct"], figures["wrong"], figures["handed_over"]) == (2, 2, 2)
    assert report["total"]["questions"] == 6
    assert report["threshold"] == 0.7
    assert run(["eval", "answers", str(questions)]) == 0
    out = capsys.readouterr().out
    assert "correct 33.3% (2), wrong 33.3% (2), handed over 33.3% (2)" in out


def candidate(*features: float, entry: bool = False) -> Candidate:
    """A candidate whose first feature (its own score) is given, the rest zero."""
    width = len(ENTRY_FEATURES if entry else ARTICLE_FEATURES)
    values = (*features, *(0.0,) * (width - len(features)))
    return Candidate(values, entry=ENTRY) if entry else Candidate(values, article=INJURY_17)


def test_the_model_learns_that_a_higher_score_is_more_often_right() -> None:
    # articles right from a score of 0.6, entries right from 0.5, with some noise
    questions = [
        [(candidate(score), score >= 0.6 or score == 0.35), (candidate(score, entry=True), score >= 0.5)]
        for score in [i / 40 for i in range(40)] * 3
    ]
    model = fit(questions)
    assert model.article.probability(candidate(0.9).features) > 0.8
    assert model.article.probability(candidate(0.1).features) < 0.2
    assert model.entry.weights[0] > 0 and model.article.weights[0] > 0
    assert ConfidenceModel.from_toml(model.as_toml()) == model


def test_a_question_is_rated_only_by_a_model_that_never_saw_it() -> None:
    # Every question alike but one, whose label the others contradict: out of fold, its
    # model learned from the others only, so it is rated as they are.
    same = [[(candidate(0.8), True)] for _ in range(20)]
    odd = [[(candidate(0.8), False)]]
    rated = out_of_fold(same + odd, folds=3)
    assert len(rated) == 21
    [(_, probability, right)] = rated[-1]
    assert probability > 0.9 and right is False
    assert out_of_fold([[]] + same, folds=3)[0] == []  # no candidate: handed over


def test_folds_keep_each_set_whole_and_share_the_questions_out() -> None:
    sets = ["a"] * 50 + ["b"] * 40 + ["c"] * 30 + ["d"] * 20 + ["e"] * 20 + ["f"] * 10
    fold = folds_by_set(sets, folds=3)
    assert len(fold) == len(sets)
    assert all(len({f for f, s in zip(fold, sets, strict=True) if s == name}) == 1 for name in set(sets))
    assert sorted(fold.count(f) for f in range(3)) == [50, 60, 60]
    assert folds_by_set(list(reversed(sets)), folds=3) == list(reversed(fold))  # order-free


def test_out_of_fold_follows_the_folds_it_is_given() -> None:
    # two sets whose labels contradict each other: rated with its own set left out, each
    # question is judged as the other set would have it
    questions = [[(candidate(0.8), True)]] * 20 + [[(candidate(0.8), False)]] * 20
    rated = out_of_fold(questions, fold=[0] * 20 + [1] * 20)
    assert all(q[0][1] < 0.1 for q in rated[:20]) and all(q[0][1] > 0.9 for q in rated[20:])


def rated_question(probability: float, right: bool, *, entry: bool = False) -> list:
    return [(candidate(probability, entry=entry), probability, right)]


def test_the_threshold_is_the_lowest_that_keeps_wrong_answers_under_the_limit() -> None:
    questions = (
        [rated_question(0.95, True)] * 60
        + [rated_question(0.75, True)] * 30
        + [rated_question(0.65, False)] * 5
        + [rated_question(0.55, True)] * 5
    )
    choice = choose_threshold(questions, max_wrong=0.03)
    assert choice.feasible and choice.threshold == 0.66
    assert (choice.tally.correct, choice.tally.wrong, choice.tally.handed_over) == (90, 0, 10)
    loose = choose_threshold(questions, max_wrong=0.10)
    assert loose.threshold <= 0.55 and loose.tally.correct == 95
    # the Wilson bound asks for more than the share itself: then everything is handed over
    mixed = [rated_question(0.9, True)] * 97 + [rated_question(0.9, False)] * 3
    assert choose_threshold(mixed, max_wrong=0.03).tally.correct == 97
    bounded = choose_threshold(mixed, max_wrong=0.03, z=1.645)
    assert bounded.threshold > 0.9 and bounded.tally.handed_over == 100


def test_the_most_probable_candidate_is_given_unless_an_entry_is_nearly_as_probable() -> None:
    article, entry = candidate(0.95), candidate(0.75, entry=True)
    assert choose([(article, 0.95), (entry, 0.75)], 0.7) == (article, 0.95)
    assert choose([(entry, 0.75), (article, 0.95)], 0.7) == (article, 0.95)  # whatever the order
    assert choose([(article, 0.95), (entry, 0.92)], 0.7) == (entry, 0.92)  # plain words, nearly as sure
    assert choose([(article, 0.6), (entry, 0.8)], 0.7) == (entry, 0.8)
    assert choose([(article, 0.72), (entry, 0.69)], 0.7) == (article, 0.72)  # the entry is not enough
    assert choose([(article, 0.5), (entry, 0.6)], 0.7) is None
    question = [(article, 0.95, True), (entry, 0.75, False)]
    tally = outcomes([question, rated_question(0.8, False), rated_question(0.5, True), []], 0.7)
    assert (tally.correct, tally.wrong, tally.handed_over) == (1, 1, 2)


def test_a_calibration_with_an_unknown_feature_is_refused() -> None:
    data = tomllib.loads(answering.CALIBRATION_FILE.read_text(encoding="utf-8"))["model"]
    data["article"]["weights"]["made_up"] = 1.0
    with pytest.raises(ValueError, match="made_up"):
        ConfidenceModel.from_toml(data)


def test_wilson_upper_bound() -> None:
    assert wilson_upper(0, 100, 0.0) == 0.0
    assert 0.0 < wilson_upper(0, 100, 1.645) < 0.03
    assert wilson_upper(3, 100, 1.645) > 0.03
    assert wilson_upper(0, 0, 1.645) == 1.0


def test_reliability_bins() -> None:
    bins = reliability([(0.05, False), (0.95, True), (0.91, False), (1.0, True)])
    assert [(b.low, b.questions, b.right) for b in bins] == [(0.0, 1, 0), (0.9, 3, 2)]


def test_calibrate_answers_refuses_held_out_sets(capsys: pytest.CaptureFixture[str]) -> None:
    held_out = DATA_DIR / "eval" / "laws_heldout.csv"
    assert run(["calibrate", "answers", "--dev", str(held_out), "--dry-run"]) == 2
    assert "refusing held-out" in capsys.readouterr().err


def test_old_calibrate_spelling_still_reaches_the_faces() -> None:
    args = parser().parse_args(["calibrate", "--root", "somewhere", "--dry-run"])
    assert args.handler is calibrate_commands.calibrate_command
    args = parser().parse_args(["calibrate", "answers", "--dry-run"])
    assert args.handler is calibrate_answers_command


def test_calibrate_answers_fits_and_writes_a_model_the_answerer_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dev = tmp_path / "tiny_dev.csv"
    dev.write_text(
        "question,expected\n"
        "工伤认定申请期限是多久,工伤保险条例 第十七条\n"
        "失业保险金最长领多久,失业保险条例 第十七条|社会保险法 第四十六条\n"
        "劳动合同应当具备哪些条款,劳动合同法 第十七条\n"
        "用人单位可以扣押员工身份证吗,劳动合同法 第九条|劳动合同法 第八十四条\n"
        "公司团建去哪里好玩,\n"
        "今天天气怎么样,\n",
        encoding="utf-8",
    )
    out = tmp_path / "calibration.toml"
    status = run(["calibrate", "answers", "--dev", str(dev), "--out", str(out), "--confidence", "0"])
    printed = capsys.readouterr().out
    assert status in (0, 1) and "out of fold" in printed and "6 questions" in printed
    calibration = load_calibration(out)
    assert calibration.model is not None and 0 < calibration.threshold <= 1
    data = tomllib.loads(out.read_text(encoding="utf-8"))
    assert data["dev"]["questions"] == 6 and data["dev_sets"] == [str(dev)]


def test_the_applied_calibration_was_chosen_on_dev_sets() -> None:
    """calibration.toml, written by `calibrate answers` on the dev sets only, is what the
    assistant runs with, and out of fold it kept wrong answers within max_wrong."""
    data = tomllib.loads(answering.CALIBRATION_FILE.read_text(encoding="utf-8"))
    shipped = answering.default_answerer().calibration
    assert shipped.threshold == data["threshold"]
    assert shipped.model == ConfidenceModel.from_toml(data["model"])
    assert set(data["model"]["article"]["weights"]) == set(ARTICLE_FEATURES)
    assert set(data["model"]["entry"]["weights"]) == set(ENTRY_FEATURES)
    dev = data["dev"]
    assert dev["questions"] == dev["correct"] + dev["wrong"] + dev["handed_over"]
    assert data["feasible"] and dev["wrong_share"] <= data["max_wrong"]
    assert data["folds_of_whole_sets"]  # each dev question rated as a new writer's would be
    assert not any("heldout" in name or name.endswith("open.csv") for name in data["dev_sets"])
    assert data["bins"] and all(0 <= b["share_right"] <= 1 for b in data["bins"])
