"""The letter to the family as a PDF: it is made in both languages, with Chinese names and
characters reportlab must escape, and names the case and amount in its metadata."""

from __future__ import annotations

from datetime import UTC, date, datetime

from content.i18n import Translator
from storage.models.recovery import RecoveryState
from verification.recovery.letter import render_letter
from verification.recovery.service import CaseSummary, CaseView, Instalment, LetterData


def _data(name: str, *, plan: tuple[Instalment, ...] = (), after_death: bool = True) -> LetterData:
    summary = CaseSummary(
        case_id=17,
        retiree_id=3,
        retiree_name=name,
        region="440300",
        state=RecoveryState.AGREED if plan else RecoveryState.OPEN,
        entitlement_ended_on=date(2026, 7, 20),
        months=("2026-08", "2026-09", "2026-10", "2026-11"),
        monthly_fen=325050,
        overpaid_fen=1300200,
        recovered_fen=100,
        opened_at=datetime(2026, 11, 27, 3, tzinfo=UTC),
        after_death=after_death,
    )
    view = CaseView(summary, "4403**********0012", (), plan, None)
    return LetterData(view, date(2026, 11, 27), "440300")


def test_the_letter_is_a_pdf_with_the_amount_in_both_languages():
    plan = (Instalment(date(2026, 12, 31), 650050), Instalment(date(2027, 1, 31), 650050))
    for language in ("zh_Hans", "en"):
        pdf = render_letter(_data("欧阳·娜仁托娅", plan=plan), Translator(language))
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
        assert len(pdf) > 2000
        assert b"case 17: 13001.00 yuan owed of 13002.00 overpaid" in pdf
        # the metadata names the case and the amounts, never the retiree
        info = pdf[pdf.index(b"/Subject") - 400 : pdf.index(b"/Subject") + 200]
        assert "欧阳".encode("utf-16-be") not in info and b"/Author ()" in info


def test_names_that_look_like_markup_or_rare_characters_do_not_break_it():
    for name in ("<b>王&五</b>", "𠮷野家", "Müller, Anna", "李\n四"):
        assert render_letter(_data(name, after_death=False), Translator("zh_Hans")).startswith(b"%PDF")


def test_the_same_letter_gives_the_same_bytes():
    first = render_letter(_data("张秀英"), Translator("zh_Hans"))
    assert render_letter(_data("张秀英"), Translator("zh_Hans")) == first
