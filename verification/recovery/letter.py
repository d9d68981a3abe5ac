"""The letter to the family as a PDF: the amount, the months, the legal basis, how to pay
back, and the plan of instalments when one is agreed. Every text is from the catalogs
(recovery.po, keys `recovery.letter.*`).

The Chinese is drawn with the TrueType CJK font the report uses, embedded in the PDF
(`verification.documents.fonts`); the PDF's subject names the case and the amount in ASCII, never the retiree.
"""

from __future__ import annotations

from io import BytesIO
from xml.sax.saxutils import escape

from content.i18n import Translator
from verification.documents.fonts import pdf_font
from verification.recovery.overpayment import yuan
from verification.recovery.service import LetterData


def months_text(t: Translator, months: tuple[str, ...]) -> str:
    return t("recovery.months", count=len(months), first=months[0], last=months[-1]) if months else "0"


def render_letter(data: LetterData, t: Translator) -> bytes:
    """The PDF bytes of the letter, in `t`'s language."""
    # Imported here: the bot and the console load reportlab only when a letter is asked for.
    from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
    from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
    from reportlab.lib.units import mm  # type: ignore[import-untyped]
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer  # type: ignore[import-untyped]

    summary = data.view.summary
    body = ParagraphStyle("body", fontName=pdf_font(), fontSize=11, leading=17, wordWrap="CJK", spaceAfter=6)
    title = ParagraphStyle("title", parent=body, fontSize=16, leading=22, alignment=1, spaceAfter=10)
    heading = ParagraphStyle("heading", parent=body, fontSize=12, leading=18, spaceBefore=6)
    right = ParagraphStyle("right", parent=body, alignment=2, spaceBefore=18)

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        # Names and reasons are text, not markup: escape them; line breaks stay line breaks.
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    name = summary.retiree_name
    opening = "recovery.letter.opening.death" if summary.after_death else "recovery.letter.opening.other"
    story = [
        para(t("recovery.letter.title"), title),
        para(
            t(
                "recovery.letter.meta",
                case_id=summary.case_id,
                date=t.date(data.issued_on),
                region=data.issuing_region,
            )
        ),
        Spacer(1, 4 * mm),
        para(t("recovery.letter.to", name=name, masked_id=data.view.masked_id_number)),
        para(t(opening, name=name)),
        para(
            t(
                "recovery.letter.facts",
                ended=t.date(summary.entitlement_ended_on),
                months=months_text(t, summary.months),
                monthly=yuan(summary.monthly_fen),
                overpaid=yuan(summary.overpaid_fen),
            )
        ),
        para(
            t(
                "recovery.letter.balance",
                recovered=yuan(summary.recovered_fen),
                outstanding=yuan(summary.outstanding_fen),
            )
        ),
        para(t("recovery.letter.basis_heading"), heading),
        para(t("recovery.letter.basis")),
        para(t("recovery.letter.how_heading"), heading),
        para(t("recovery.letter.how", case_id=summary.case_id)),
    ]
    if data.view.plan:
        story.append(para(t("recovery.letter.plan_heading"), heading))
        story += [
            para(t("recovery.letter.plan_line", due=t.date(item.due_on), amount=yuan(item.amount_fen)))
            for item in data.view.plan
        ]
    story += [para(t("recovery.letter.contact")), para(t("recovery.letter.signature"), right)]

    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=22 * mm,
        rightMargin=22 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=t("recovery.letter.title"),
        subject=f"case {summary.case_id}: {yuan(summary.outstanding_fen)} yuan owed"
        f" of {yuan(summary.overpaid_fen)} overpaid",
        author="",
        creator="pension-bot",
        invariant=True,  # the same letter gives the same bytes (no creation time, no random id)
    )
    document.build(story)
    return buffer.getvalue()
