"""The Chinese font of the PDFs (the quarterly report and its charts, the recovery letter).

A TrueType CJK font, embedded: reportlab's TTFont writes into the PDF the subset of glyphs the
document uses (a /FontFile2), so any reader shows the Chinese. The file is the first of
`font_files()` that loads: the environment variable REPORT_FONT_FILE, then WenQuanYi Micro Hei
(Debian's `fonts-wqy-microhei`, which `make browser` installs), then a Noto Sans CJK .ttf if
one is installed (Debian's Noto CJK are OpenType/CFF .ttc files, which reportlab cannot embed).
Without any, the PDFs fall back to reportlab's CID font STSong-Light, which is only named, not
embedded: a reader without that font shows boxes, so a warning says so once.
"""

from __future__ import annotations

import logging
import os
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

ENVIRONMENT = "REPORT_FONT_FILE"
WQY_MICROHEI = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
NOTO_GLOBS = (
    ("/usr/share/fonts/truetype", "**/NotoSansCJK*.ttf"),
    ("/usr/share/fonts/truetype", "**/NotoSansSC*.ttf"),
    ("/usr/local/share/fonts", "**/NotoSansCJK*.ttf"),
)
EMBEDDED = "ChineseSans"  # the name the TrueType font is registered under
NOT_EMBEDDED = "STSong-Light"  # reportlab's CID font: named in the PDF, not embedded


def font_files() -> list[Path]:
    """Where to look for the TrueType CJK font, in order (only files that exist)."""
    candidates: list[Path] = []
    if chosen := os.environ.get(ENVIRONMENT, "").strip():
        candidates.append(Path(chosen))
    candidates.append(WQY_MICROHEI)
    for root, pattern in NOTO_GLOBS:
        if Path(root).is_dir():
            candidates += sorted(Path(root).glob(pattern))
    return [path for path in candidates if path.is_file()]


@cache
def embedded_font_file() -> Path | None:
    """The TrueType CJK font file the PDFs embed, registered with reportlab; None if none loads."""
    from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
    from reportlab.pdfbase.ttfonts import TTFError, TTFont  # type: ignore[import-untyped]

    for path in font_files():
        try:
            # A .ttc holds several faces: the first is the regular one (WenQuanYi Micro Hei).
            font = TTFont(EMBEDDED, str(path), subfontIndex=0)
            if ord("中") not in font.face.charToGlyph:
                raise TTFError(f"{path} has no Chinese characters")
        except (TTFError, OSError) as problem:
            log.warning("cannot embed the font %s in the PDFs: %s", path, problem)
            continue
        pdfmetrics.registerFont(font)
        return path
    return None


@cache
def pdf_font() -> str:
    """The name of the registered font that draws the PDFs' Chinese: the embedded TrueType font,
    or (with a warning, once) reportlab's CID font STSong-Light, which is not embedded."""
    if embedded_font_file() is not None:
        return EMBEDDED
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # type: ignore[import-untyped]

    log.warning(
        "no TrueType Chinese font found (set %s, or install fonts-wqy-microhei): the PDFs' Chinese"
        " uses the CID font %s, which is not embedded, and shows as boxes in a reader without it",
        ENVIRONMENT,
        NOT_EMBEDDED,
    )
    pdfmetrics.registerFont(UnicodeCIDFont(NOT_EMBEDDED))
    return NOT_EMBEDDED
