"""Translation catalogs (gettext .po files read with Babel).

Message ids are symbolic ("menu.help"), so both languages are translations of the same
key and a missing one is easy to find; the .po files are the single source of every text
a user sees. Each feature keeps its own .po file per language (messages.po for the first
screens, certification.po, ...); they are merged, and compiled in memory at start-up, so no
build step is needed. A key defined in two files is an error.
"""

from __future__ import annotations

import logging
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import ClassVar

from babel.dates import format_date
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

CATALOG_DIR = Path(__file__).with_name("translations")
DOMAIN = "messages"
DEFAULT_LANGUAGE = "zh_Hans"
# What a person sees where a text is missing: a kind apology, never the key.
MISSING_TEXT_KEY = "error.generic"

log = logging.getLogger(__name__)


class DuplicateKey(ValueError):
    pass


class MissingText(KeyError):
    """A text was asked for that no catalog holds (raised only when Translator.strict)."""


@cache
def _catalog(language: str) -> Catalog:
    merged = Catalog(locale=None, domain=DOMAIN)
    for po_path in sorted((CATALOG_DIR / language / "LC_MESSAGES").glob("*.po")):
        with po_path.open("rb") as handle:
            for message in read_po(handle):
                if not message.id:
                    continue
                if message.id in merged:
                    raise DuplicateKey(
                        f"{message.id!r} is defined twice for {language} (again in {po_path.name})"
                    )
                merged.add(message.id, message.string)
    return merged


@cache
def _translations(language: str) -> Translations:
    buffer = BytesIO()
    write_mo(buffer, _catalog(language))
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def available_languages() -> list[str]:
    return sorted(path.name for path in CATALOG_DIR.iterdir() if (path / "LC_MESSAGES").is_dir())


def message_ids(language: str) -> set[str]:
    return {str(message.id) for message in _catalog(language) if message.id and message.string}


class Translator:
    """Texts for one language; a key missing there falls back to the default language. A key
    in no catalog is a defect: the person sees the kind generic apology (never the raw key),
    the key is logged, and where `strict` is on (the tests) it raises MissingText."""

    strict: ClassVar[bool] = False

    def __init__(self, language: str) -> None:
        self.language = language if language in available_languages() else DEFAULT_LANGUAGE
        self._primary = _translations(self.language)
        self._fallback = _translations(DEFAULT_LANGUAGE)

    def __call__(self, key: str, **values: object) -> str:
        text = self._primary.gettext(key)
        if text == key:
            text = self._fallback.gettext(key)
        if text == key:
            if self.strict:
                raise MissingText(key)
            log.error("no text for the key %r in any catalog", key)
            return self._primary.gettext(MISSING_TEXT_KEY)
        return text.format(**values) if values else text

    def date(self, value) -> str:
        """A date as people write it here: 2026年3月5日, or 5 March 2026 (the catalog's pattern)."""
        return format_date(value, self("cycle.date_pattern"), locale=self.language)


def all_translations(key: str) -> dict[str, str]:
    """The text of one key in every language: to recognise a menu button whatever the language."""
    return {language: Translator(language)(key) for language in available_languages()}
