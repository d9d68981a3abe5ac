"""The training certificate (培训合格证书) as a one-page PDF: the holder, the number and the
verification code, the score, the date, and where anyone can check it. Texts from the
catalogs (training.po, `training.pdf.*`); the Chinese in the embedded TrueType font the
report and the recovery letter use (verification/documents/fonts.py)."""

from __future__ import annotations

from io import BytesIO
from xml.sax.saxutils import escape

from content.i18n import Translator
from training.service import CertificateView
from verification.documents.fonts import pdf_font


def render_certificate(certificate: CertificateView, t: Translator, check_url: str) -> bytes:
    # Imported here: the bot loads reportlab only when a certificate is asked for.
    from reportlab.lib.pagesizes import A4, landscape  # type: ignore[import-untyped]
    from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
    from reportlab.lib.units import mm  # type: ignore[import-untyped]
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer  # type: ignore[import-untyped]

    body = ParagraphStyle("body", fontName=pdf_font(), fontSize=13, leading=21, wordWrap="CJK", alignment=1)
    title = ParagraphStyle("title", parent=body, fontSize=28, leading=38, spaceAfter=14)
    name = ParagraphStyle("name", parent=body, fontSize=22, leading=32, spaceBefore=8, spaceAfter=8)
    small = ParagraphStyle("small", parent=body, fontSize=10, leading=15)

    def para(text: str, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), style)

    story = [
        para(t("training.pdf.title"), title),
        para(t("training.pdf.holder", staff_number=certificate.staff_number, region=certificate.region_code)),
        para(certificate.staff_name, name),
        para(t("training.pdf.body", score=certificate.score)),
        Spacer(1, 10 * mm),
        para(t("training.pdf.number", number=certificate.number, code=certificate.code)),
        para(t("training.pdf.issued", date=t.date(certificate.issued_on))),
        Spacer(1, 8 * mm),
        para(t("training.pdf.check", url=check_url), small),
    ]
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=25 * mm,
        rightMargin=25 * mm,
        topMargin=25 * mm,
        bottomMargin=20 * mm,
        title=t("training.pdf.title"),
        subject=f"training certificate {certificate.number}",  # the number, never the name
        author="",
        creator="pension-bot",
        invariant=True,
    )
    document.build(story)
    return buffer.getvalue()
