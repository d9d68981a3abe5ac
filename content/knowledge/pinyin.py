"""Reading a question as people type it: pinyin instead of characters, and homophone typos.

* Pinyin: a run of Latin words that all spell pinyin syllables ("gongshang renDing",
  "gōngshāng", "gong1shang1", "she bao") is read as the known words it sounds like: the
  longest matches first, the word seen most often in the texts when several sound alike
  (gongshang -> 工伤, not 工商). Syllables that spell no known word are dropped; a run with
  no known word at all is left as it was, so English ("how long", "can") is untouched.
* Homophones: a two-to-four-character stretch that is no word (neither in the texts nor in
  jieba's dictionary) but sounds exactly like one of the domain's terms is read as that term
  (社报 -> 社保, 滞纳今 -> 滞纳金). Real words are never replaced: 工商 stays 工商.

The known words come from the indexes (`TextAnalyzer.learn`); the domain terms are the user
dictionary, the synonyms and the entries' keywords.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from functools import cache

from pypinyin import Style, lazy_pinyin

MAX_SYLLABLE = 6  # zhuang, shuang
MAX_WORD_SYLLABLES = 6
_LATIN_RUN = re.compile(r"[a-z]+(?:[ '’\-]+[a-z]+)*")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_UNITS = "万千百亿元块角个"  # 5万交 is five ten-thousands, not 5晚交
_TONE_DIGIT = re.compile(r"(?<=[a-zü])[1-5]")


def strip_tones(text: str) -> str:
    """'gōngshāng' -> 'gongshang', 'lǜ' / 'lü' -> 'lv', 'gong1shang1' -> 'gongshang'."""
    text = _TONE_DIGIT.sub("", text)
    decomposed = unicodedata.normalize("NFKD", text).replace("u\u0308", "v")
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


@cache
def syllables() -> frozenset[str]:
    """Every toneless pinyin syllable (from pypinyin's dictionary of characters)."""
    from pypinyin.pinyin_dict import pinyin_dict

    found = {strip_tones(reading) for readings in pinyin_dict.values() for reading in readings.split(",")}
    return frozenset(s for s in found if s.isalpha() and s.isascii())


def spells_pinyin(word: str) -> bool:
    """Whether the Latin word is one or more pinyin syllables end to end."""
    known = syllables()
    reachable = [True] + [False] * len(word)
    for end in range(1, len(word) + 1):
        reachable[end] = any(
            reachable[start] and word[start:end] in known for start in range(max(0, end - MAX_SYLLABLE), end)
        )
    return reachable[-1]


def sound(word: str) -> str:
    """The toneless pinyin of Chinese text, run together: 社保 -> 'shebao'."""
    return "".join(lazy_pinyin(word, style=Style.NORMAL, errors="ignore"))


class PinyinReader:
    def __init__(
        self,
        words: Mapping[str, int],
        terms: Iterable[str],
        is_word: Callable[[str], bool] | None = None,
        segment: Callable[[str], list[str]] | None = None,
    ) -> None:
        """`words`: known Chinese words and how often the texts use them; `terms`: the domain
        terms a homophone typo may stand for; `is_word`: a general dictionary (jieba's)."""
        # Sorted, so that a tie (哪些/那些, 交社保/缴社保) goes the same way in every process:
        # the words and terms come from sets, whose order changes with the string hash seed.
        self._by_sound: dict[str, tuple[int, str]] = {}
        for word, count in sorted(words.items()):
            if 2 <= len(word) <= MAX_WORD_SYLLABLES and _CJK_RUN.fullmatch(word):
                key = sound(word)
                if key and count > self._by_sound.get(key, (-1, ""))[0]:
                    self._by_sound[key] = (count, word)
        self._longest = max((len(key) for key in self._by_sound), default=0)
        self._known = set(words)
        self._term_by_sound: dict[str, str] = {}
        for term in sorted(terms):
            if 2 <= len(term) <= 4 and _CJK_RUN.fullmatch(term):
                self._term_by_sound.setdefault(sound(term), term)
        self._is_word = is_word or (lambda _: False)
        self._segment_words = segment or list

    def read(self, text: str) -> str:
        """Normalised text (lower case, simplified) with pinyin and homophone typos read."""
        if self._by_sound and re.search(r"[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]", text):
            text = _LATIN_RUN.sub(self._read_pinyin, strip_tones(text))
        if self._term_by_sound:
            text = _CJK_RUN.sub(lambda m: self._correct(m.group(0)), text)
        return text

    def _read_pinyin(self, match: re.Match[str]) -> str:
        run = match.group(0)
        words = re.split(r"[ '’\-]+", run)
        if not all(spells_pinyin(word) for word in words):
            return run
        letters = "".join(words)
        found = self._segment(letters)
        if not found:
            return run
        return " " + " ".join(found) + " "

    def _segment(self, letters: str) -> list[str]:
        """The known words that cover most letters (then the fewest words), in order."""
        n = len(letters)
        known_syllables = syllables()
        # best[i]: (letters covered, -words, the words) for letters[i:]
        best: list[tuple[int, int, tuple[str, ...]]] = [(0, 0, ())] * (n + 1)
        for start in range(n - 1, -1, -1):
            options = []
            for end in range(start + 1, min(n, start + MAX_SYLLABLE) + 1):  # skip a syllable
                if letters[start:end] in known_syllables:
                    covered, words, found = best[end]
                    options.append((covered, words, found))
            for end in range(start + 2, min(n, start + self._longest) + 1):
                known = self._by_sound.get(letters[start:end])
                if known is not None:
                    covered, words, found = best[end]
                    options.append((covered + end - start, words - 1, (known[1], *found)))
            if options:
                best[start] = max(options, key=lambda option: (option[0], option[1]))
        return list(best[0][2])

    def _correct(self, run: str) -> str:
        """Only stretches of the text that are no known word (single characters, or words
        neither the texts nor the dictionary know) are looked at: a window across two real
        words (员工|自己 -> 工资) is never read as a term."""
        out: list[str] = []
        loose: list[str] = []
        for token in self._segment_words(run):
            if len(token) > 1 and (token in self._known or self._is_word(token)):
                out.append(self._correct_loose("".join(loose)))
                loose = []
                out.append(token)
            else:
                loose.append(token)
        out.append(self._correct_loose("".join(loose)))
        return "".join(out)

    def _correct_loose(self, run: str) -> str:
        out: list[str] = []
        i = 0
        while i < len(run):
            for size in (4, 3, 2):
                piece = run[i : i + size]
                if len(piece) < size or piece in self._known or self._is_word(piece) or piece[0] in _UNITS:
                    continue
                term = self._term_by_sound.get(sound(piece))
                if term is not None and len(term) == size:
                    out.append(term)
                    i += size
                    break
            else:
                out.append(run[i])
                i += 1
        return "".join(out)
