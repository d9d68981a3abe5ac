"""Turning a question (or an entry) into search tokens.

* Normalise: full-width to half-width and compatibility forms (NFKC), traditional to
  simplified characters (OpenCC t2s), lower case.
* Words: Chinese is segmented with jieba, using a small domain dictionary so that terms
  such as 缴费基数, 滞纳金 and 劳务派遣 stay whole; English words are lower-cased and
  stemmed lightly (fees -> fee, registering -> register). Function words are dropped, and
  colloquial words also count as the word the entries use (synonyms.toml).
* Grams: character bigrams of Chinese text and character trigrams of English words, for
  the typo that splits a word (滞纳今, calculaton).
* Questions only (`read_question`): pinyin read as the words it spells, and homophone typos
  as the domain term they sound like (content/knowledge/pinyin.py), once the indexes have
  told the analyzer which words their texts use (`learn`).
"""

from __future__ import annotations

import logging
import re
import tomllib
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

from content.knowledge.model import DATA_DIR
from content.knowledge.pinyin import PinyinReader

USER_DICTIONARY = DATA_DIR / "userdict.txt"
SYNONYMS_FILE = DATA_DIR / "synonyms.toml"

_CJK = re.compile(r"[\u3400-\u9fff]+")
_TOKEN = re.compile(r"[\u3400-\u9fff]+|[a-z]+(?:'[a-z]+)?|\d+(?:\.\d+)?%?")
_LATIN_WORD = re.compile(r"[a-z]+")

ZH_STOPWORDS = frozenset(
    """的 了 吗 呢 吧 啊 呀 哦 嘛 么 啦 呗 哈 嗯 是 有 在 和 与 及
    或 也 都 就 还 又 要 会 能 可以 可 请问 请 一下 我 我们 你 您
    你们 他 她 它 他们 她们 咱们 这 那 这个 那个 这些 那些 一个 个 给
    把 被 让 对 向 从 跟 得 地 着 过 自己 什么 怎么 怎么办 怎样 如何
    为什么 哪 哪些 哪个 能不能 可不可以 是不是 有没有 要不要 需不需要 需要
    应该 该 现在 一般 就是 还是 但是 如果 那么 这样 那样 没 一直 已经
    里 上 下 中 多 很 太 比较 大概 具体 到底 所以 然后 怎么样 咋 咋办
    啥 呐 嘞 哎 诶 您好 你好 谢谢 麻烦 问 问下 想 想问 知道 一些 还有
    以及 等 等等 有个 有人 几个 两个 三个 这边 那边 过来 来 去 到 快
    才 再 帮 帮忙 前 后 一样 正常 情况 问题 东西 事
    """.split()
)
# Characters that carry no topic: a bigram made only of these (怎么, 是多) is not indexed.
_FUNCTION_CHARACTERS = frozenset(
    "的了吗呢吧啊呀哦嘛么是有在和与及或也都就还又要会能可请我你您他她它们"
    "这那个给把被让对向从跟得地着过什怎样如何为哪些该没很太多少几啥咋"
)
# Question words that pinyin may spell (duojiu -> 多久): read, then weighed as intents.
_QUESTION_WORDS = frozenset("多久 多少 多长时间 几天 几个月 什么时候 怎么办 怎么算 罚款 处罚".split())
EN_STOPWORDS = frozenset(
    """a an the is are was were be been being am do does did doing done have has had having i me my we
    our us you your he him his she her it its they them their this that these those what which who
    whom whose when where why how to of in on at by for with about from into as and or but if then
    so than too very can could should would will shall may might must need needs not no any some
    all each there here just also only up out over after before again s t get got let lets please
    tell know want one ones
    """.split()
)


# What kind of answer a question asks for: words the stopword list drops as noise, yet they
# tell "why are we audited" from "what does an audit check". Matched on normalised text.
_INTENTS = {
    "why": re.compile(r"为什么|为啥|为何|凭什么|干嘛要|\bwhy\b"),
    "when": re.compile(
        r"多久|多少天|几天|几日|多少日|几个月|多长时间|什么时候|啥时候|何时|几号|期限|时限|最迟|最晚"
        r"|\bhow (?:long|soon|many days)\b|\bwhen\b|\bdeadline|\bwithin\b"
    ),
    "amount": re.compile(
        r"多少(?!天|日|个工作日)|几个点|百分之|比例|费率|\d%|\bhow much\b|\brates?\b|\bpercent"
    ),
    "documents": re.compile(r"材料|资料|准备什么|准备哪些|带什么|证件|\bdocuments?\b|\bpapers\b"),
    "penalty": re.compile(r"罚|处罚|后果|\bfine[sd]?\b|\bpenalt|\bpunish"),
}


# Entity cues: a monthly wage far above any city's average points at the base ceiling.
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(万|w|k|千)?")
_WAGE_CONTEXT = re.compile(r"工资|月薪|薪水|薪资|收入|年薪|\bsalar|\bwage|\bearn|\bincome|\bpaid\b")
_UNIT = {"万": 10_000, "w": 10_000, "k": 1_000, "千": 1_000}
HIGH_WAGE = 25_000
HIGH_WAGE_CUE = ("上限", "ceiling")


def wage_amounts(text: str) -> list[float]:
    """Amounts in normalised text that speaks of wages (4万, 40000, 40k), else none."""
    if not _WAGE_CONTEXT.search(text):
        return []
    return [float(number) * _UNIT.get(unit or "", 1) for number, unit in _AMOUNT.findall(text)]


def intents(text: str) -> frozenset[str]:
    """The kinds of answer normalised text asks for: why, when, amount, documents, penalty."""
    return frozenset(name for name, pattern in _INTENTS.items() if pattern.search(text))


def _load_synonyms(path: Path) -> dict[str, str]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    merged: dict[str, str] = {}
    for table in data.values():
        merged.update({str(word): str(target) for word, target in table.items()})
    return merged


def stem(word: str) -> str:
    """A light English stemmer: plural, -ing and -ed endings; enough for short questions."""
    if len(word) <= 3:
        return word
    if word.endswith("'s"):
        word = word[:-2]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    for suffix, keep in (("ing", 5), ("ed", 4)):
        if word.endswith(suffix) and len(word) - len(suffix) >= keep - 1:
            base = word[: -len(suffix)]
            if len(base) > 2 and base[-1] == base[-2] and base[-1] not in "ls":
                base = base[:-1]  # stopped -> stop, but enrolled -> enroll
            return base
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


class TextAnalyzer:
    """Normalises and tokenises text the same way for entries and for questions."""

    # A word jieba's general dictionary has seen fewer times than this may be a typo (公伤).
    RARE_WORD = 10

    def __init__(self, user_dictionary: Path = USER_DICTIONARY, synonyms: Path = SYNONYMS_FILE) -> None:
        self._user_dictionary = user_dictionary
        self._synonyms = _load_synonyms(synonyms)
        self._seen: Counter[str] = Counter()
        self._terms: set[str] = set(self._synonyms) | set(self._synonyms.values())
        self._terms.update(
            line.split()[0]
            for line in user_dictionary.read_text(encoding="utf-8").splitlines()
            if line.strip()
        )
        self._reader: PinyinReader | None = None

    def learn(self, words: Iterable[str], *, terms: Iterable[str] = ()) -> None:
        """Words the indexed texts use (their counts choose between words that sound alike),
        and domain terms a homophone typo may stand for (an entry's keywords)."""
        self._seen.update(words)
        self._terms.update(self.normalise(term) for term in terms)
        self._reader = None

    def read_question(self, text: str) -> str:
        """A question normalised, with pinyin and homophone typos read as words."""
        text = self.normalise(text)
        if not self._seen:
            return text
        if self._reader is None:
            spoken = Counter({word: 1 for word in ZH_STOPWORDS | _QUESTION_WORDS}) + self._seen
            frequency = self._jieba.FREQ
            self._reader = PinyinReader(
                spoken,
                self._terms,
                lambda piece: frequency.get(piece, 0) >= self.RARE_WORD,
                lambda run: self._jieba.lcut(run, HMM=False),
            )
        return self._reader.read(text)

    @cached_property
    def _converter(self):
        import opencc

        return opencc.OpenCC("t2s")

    @cached_property
    def _jieba(self):
        with warnings.catch_warnings():
            # jieba imports pkg_resources, which announces its own deprecation.
            warnings.simplefilter("ignore")
            import jieba
        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        tokenizer.load_userdict(str(self._user_dictionary))
        return tokenizer

    def warm_up(self) -> None:
        """Load the dictionaries now (about a second), not on the first question."""
        self.words("社保缴费基数")

    def normalise(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text)
        if _CJK.search(text):
            text = self._converter.convert(text)
        return text.lower()

    def words(self, text: str, *, normalised: bool = False) -> list[str]:
        """The words of the text, each followed by the word the entries use for it, if any."""
        return [form for group in self.word_groups(text, normalised=normalised) for form in group]

    def word_groups(self, text: str, *, normalised: bool = False) -> list[tuple[str, ...]]:
        """Each word with its synonym: ('月薪', '工资'), ('缴费基数',)."""
        text = text if normalised else self.normalise(text)
        groups: list[tuple[str, ...]] = []
        for piece in _TOKEN.findall(text):
            if _CJK.match(piece):
                for word in self._jieba.lcut(piece, HMM=True):
                    if word not in ZH_STOPWORDS:
                        groups.append(self._group(word))
            elif piece[0].isdigit():
                groups.append((piece,))
            else:
                word = piece.replace("'", "")
                if word not in EN_STOPWORDS:
                    groups.append(self._group(stem(word)))
        if any(HIGH_WAGE <= amount < 10_000_000 for amount in wage_amounts(text)):
            groups.append(HIGH_WAGE_CUE)
        return groups

    def _group(self, word: str) -> tuple[str, ...]:
        synonym = self._synonyms.get(word)
        return (word, synonym) if synonym is not None and synonym != word else (word,)

    def grams(self, text: str, *, normalised: bool = False) -> list[str]:
        text = text if normalised else self.normalise(text)
        grams: list[str] = []
        for run in _CJK.findall(text):
            if len(run) == 1:
                if run not in ZH_STOPWORDS:
                    grams.append(run)
                continue
            grams.extend(
                run[i : i + 2]
                for i in range(len(run) - 1)
                if not (run[i] in _FUNCTION_CHARACTERS and run[i + 1] in _FUNCTION_CHARACTERS)
            )
        for word in _LATIN_WORD.findall(text):
            if word in EN_STOPWORDS or len(word) < 3:
                continue
            padded = f"#{word}#"
            grams.extend(padded[i : i + 3] for i in range(len(padded) - 2))
        return grams
