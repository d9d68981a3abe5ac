"""The course files: the shipped course loads (every lesson citing articles of the shipped law
texts, spread over at least three days), and a bad file is refused with every problem listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.courses import CourseError, load_course
from training.exam import load_rules

ARTICLES = {("社会保险法", n) for n in range(1, 99)}

GOOD = """
[module]
id = "m1"
day = 1
reviewed = "2026-12-05"
title_zh = "模块"
title_en = "Module"

[[lesson]]
id = "l1"
citations = ["社会保险法 第八十六条"]
title_zh = "滞纳金"
title_en = "Late fees"
[[lesson.step]]
zh = "欠缴的，按日加收万分之五的滞纳金。"
en = "Arrears carry a late fee of 0.05 % a day."
"""


def _course(tmp_path: Path, *files: str) -> Path:
    folder = tmp_path / "courses"
    folder.mkdir(exist_ok=True)
    for number, text in enumerate(files, start=1):
        (folder / f"{number:02d}.toml").write_text(text, encoding="utf-8")
    return folder


def test_the_shipped_course_covers_every_exam_topic_over_the_days_the_rules_ask():
    course = load_course()
    rules = load_rules()
    assert course.days >= rules.min_training_days >= 3
    assert {module.id for module in course.modules} >= set(rules.mix)
    assert all(lesson.citations and lesson.steps for lesson in course.lessons)
    assert len({lesson.id for lesson in course.lessons}) == len(course.lessons)
    for lesson in course.lessons:
        assert all(step["zh_Hans"] and step["en"] for step in lesson.steps)


def test_a_good_course_file_loads(tmp_path):
    course = load_course(_course(tmp_path, GOOD), ARTICLES)
    (module,) = course.modules
    assert (module.id, module.day, module.reviewed.isoformat()) == ("m1", 1, "2026-12-05")
    assert course.lesson("l1") is not None and course.lesson("l2") is None


def test_a_bad_course_is_refused_with_every_problem(tmp_path):
    bad = (
        GOOD.replace("第八十六条", "第九百条")  # no such article
        .replace('en = "Arrears', 'xx = "Arrears')  # the English is missing
        .replace("day = 1", 'day = "one"')
        .replace('reviewed = "2026-12-05"', 'reviewed = "last year"')
    )
    long = GOOD.replace('id = "m1"', 'id = "m2"').replace("欠缴的，", "欠" * 300)  # one step too long
    twice = GOOD.replace('id = "m1"', 'id = "m3"'), GOOD.replace('id = "m1"', 'id = "m4"')  # lesson l1 twice
    with pytest.raises(CourseError) as refused:
        load_course(_course(tmp_path, bad, long, "not = [toml", *twice), ARTICLES)
    problems = "\n".join(refused.value.problems)
    for expected in (
        "citation '社会保险法 第九百条' is not an article",
        "the en text is missing",
        "day must be a whole number",
        "reviewed must be the date",
        "more than 200 (one screen)",
        "lesson id 'l1' is used twice",
        "03.toml: not valid TOML",
    ):
        assert expected in problems, problems


def test_no_course_files_is_a_problem_not_an_empty_course(tmp_path):
    with pytest.raises(CourseError):
        load_course(_course(tmp_path), ARTICLES)
