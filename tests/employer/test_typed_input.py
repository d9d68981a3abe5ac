"""Questions as people type them: pinyin with or without tones, homophone typos, traditional
characters (content/knowledge/pinyin.py, TextAnalyzer.read_question)."""

from __future__ import annotations

import pytest

from content.knowledge.answering import detect_language
from content.knowledge.pinyin import PinyinReader, spells_pinyin, strip_tones

WORDS = {"工伤": 50, "工商": 3, "认定": 40, "社保": 80, "滞纳金": 20, "断缴": 5, "怎么办": 1, "多久": 1}
TERMS = {"社保", "滞纳金", "工伤"}


@pytest.fixture(scope="module")
def reader() -> PinyinReader:
    return PinyinReader(WORDS, TERMS, is_word=lambda piece: piece in {"工商", "公司"})


def test_tones_are_stripped_whatever_the_notation():
    assert strip_tones("gōngshāng rèndìng") == "gongshang renDing".lower()
    assert strip_tones("gong1shang1") == "gongshang"
    assert strip_tones("lǜshī lüshi") == "lvshi lvshi"


def test_pinyin_words_are_recognised_and_english_is_not():
    assert spells_pinyin("gongshang") and spells_pinyin("shebao") and spells_pinyin("zhuang")
    assert not spells_pinyin("employer") and not spells_pinyin("fee") and not spells_pinyin("how")


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("gongshang认定要多久", "工伤"),  # the commoner of two words that sound alike
        ("gong shang ren ding", "工伤 认定"),
        ("gōngshāng rèndìng", "工伤 认定"),
        ("shebao duanjiao le zenme ban", "社保 断缴 怎么办"),
    ],
)
def test_pinyin_is_read_as_the_words_it_spells(reader, typed, read):
    assert read in reader.read(typed)


def test_english_and_unknown_pinyin_are_left_alone(reader):
    assert reader.read("how long is the late fee") == "how long is the late fee"
    assert reader.read("can we pay later") == "can we pay later"
    assert reader.read("ni hao") == "ni hao"  # pinyin, but of no word the texts know


def test_homophone_typos_become_the_term_they_sound_like(reader):
    assert reader.read("社报晚交了") == "社保晚交了"
    assert reader.read("滞纳今怎么算") == "滞纳金怎么算"
    assert reader.read("工商注册") == "工商注册"  # a real word is never replaced


def test_a_tie_between_words_that_sound_alike_goes_the_same_way_whatever_their_order():
    # The words and terms reach the reader from sets, whose order changes with the hash seed
    # of each process: a tie decided by that order made calibrations differ between runs.
    words = [("那些", 2), ("哪些", 2), ("社保", 3)]
    terms = ["缴社保", "交社保"]
    readings = {
        (PinyinReader(dict(w), t).read("naxie shebao"), PinyinReader(dict(w), t).read("交社报"))
        for w, t in [(words, terms), (words[::-1], terms[::-1])]
    }
    assert len(readings) == 1


def test_the_shipped_analyzer_reads_questions_typed_every_way(answerer):
    analyzer = answerer.index.analyzer
    assert "工伤" in analyzer.read_question("gongshang认定要多久")
    assert "社保" in analyzer.read_question("社报断交了怎么补")
    assert "滞纳金" in analyzer.read_question("滯納今怎麼算")  # traditional, and a typo
    same = {
        answerer.answer(question).citations[0]
        for question in (
            "社保晚交了，滞纳金怎么算",
            "社报晚交了，滞纳今怎么算",
            "shebao wanjiao le, zhinajin zenme suan",
        )
    }
    assert same == {"社会保险法 第八十六条"}


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("shebao duanjiao le zenme ban", "zh_Hans"),  # pinyin alone: a Chinese reader
        ("gōngshāng rèndìng yào duōjiǔ", "zh_Hans"),
        ("社保断缴了怎么办", "zh_Hans"),
        ("How long is the late fee?", "en"),
        ("can we pay later", "en"),  # "can" spells pinyin, "we" and "pay" do not
        ("", "en"),
    ],
)
def test_a_question_in_pinyin_alone_is_answered_in_chinese(question, language):
    assert detect_language(question) == language
