"""Plain-words reasons for refused roster files, rows and warnings, in English and Chinese.

Keyed by the stable reason code that also goes into error records; the texts are in the
catalogs with every other text (content/translations/*/LC_MESSAGES/roster.po, keys
`roster.reason.<code>`). They never contain personal data: only column titles, row numbers
and fixed wording.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from content.i18n import Translator, message_ids

Language = Literal["en", "zh"]
_CATALOG = {"en": "en", "zh": "zh_Hans"}


def reason_text(code: str, language: Language = "en", **params: object) -> str:
    """The plain-words text for a reason code; an unknown code is shown as itself."""
    key = f"roster.reason.{code}"
    if key not in _known():
        return code
    template = _translator(_CATALOG[language])(key)
    try:
        return template.format(**params)
    except (KeyError, IndexError):  # a missing parameter must not hide the reason itself
        return template


@cache
def _known() -> frozenset[str]:
    return frozenset(message_ids("zh_Hans"))


@cache
def _translator(language: str) -> Translator:
    return Translator(language)
