"""The one codec of inline-button data (bot/callbacks.py): what the bot makes it reads back
typed; what it did not make (other scripts' digits, a word it never offers, a field too many,
a trailing newline) matches no pattern; every button the bot defines fits Telegram's 64 bytes
at its longest, and no data one button makes is taken by another's handler."""

from __future__ import annotations

import importlib
import pkgutil
from itertools import product

import pytest

import bot.handlers
from bot import keyboards
from bot.callbacks import MAX_DATA_BYTES, Button, Number, NumberOr, OneOf, Word


def _all_buttons() -> dict[str, Button]:
    found: dict[str, Button] = {}
    seen: set[int] = set()  # a button imported by another module is still one button
    modules = [keyboards] + [
        importlib.import_module(f"bot.handlers.{info.name}")
        for info in pkgutil.iter_modules(bot.handlers.__path__)
    ]
    for module in modules:
        for name, value in vars(module).items():
            if isinstance(value, Button) and id(value) not in seen:
                seen.add(id(value))
                found[f"{value.prefix} ({module.__name__}.{name})"] = value
    return found


BUTTONS = _all_buttons()


def _longest_samples(button: Button) -> list[tuple[object, ...]]:
    """Values for every field: each word offered, the longest number, the longest code."""
    choices = []
    for field in button.fields:
        if field.regex.startswith("[0-9]"):
            choices.append([10**18 - 1, 0] + ([field.regex.split("|", 1)[1]] if "|" in field.regex else []))
        elif field.regex.startswith("[A-Za-z0-9_-]"):
            longest = int(field.regex.rsplit(",", 1)[1].rstrip("}"))
            choices.append(["w" * longest, "a-1_B"])
        else:
            choices.append([word.replace("\\", "") for word in field.regex.split("|")])
    return list(product(*choices))


def test_the_bot_defines_its_buttons_with_the_codec() -> None:
    assert len(BUTTONS) >= 40  # every handler module's buttons, found by the scan above
    prefixes = {button.prefix for button in BUTTONS.values()}
    assert {"review", "consent", "cmp", "lang", "role", "life:for", "hv:done"} <= prefixes


@pytest.mark.parametrize("name", sorted(BUTTONS))
def test_each_button_reads_back_what_it_made_and_fits_in_64_bytes(name: str) -> None:
    button = BUTTONS[name]
    for values in _longest_samples(button):
        data = button(*values)
        assert len(data.encode()) <= MAX_DATA_BYTES, data
        assert button.read(data) == values
        # Only this button's handler takes it (another button with the same data would shadow it).
        takers = [other for other in BUTTONS.values() if other.read(data) is not None]
        assert takers == [button], (data, takers)


def test_fields_are_read_as_their_types() -> None:
    verdict = Button("review", OneOf("ok", "no"), Number(), Word(24), optional_last=True)
    assert verdict.read(verdict("no", 42, "pass_audit")) == ("no", 42, "pass_audit")
    assert verdict.read("review:ok:42") == ("ok", 42, None)  # made before the reason rode along
    whom = Button("life:for", NumberOr("other"))
    assert [whom.read(whom(value)) for value in (7, "other")] == [(7,), ("other",)]


@pytest.mark.parametrize(
    "data",
    [
        "review:ok:²",  # passes str.isdigit()
        "review:ok:٣",  # passes \d and str.isdecimal()
        "review:ok:42\n",  # `$` would have let it through
        "review:maybe:42",
        "review:ok:42:pass_audit:extra",
        "review:ok:",
        "review:ok:1234567890123456789",  # longer than any id the bot makes
        "review:ok:42:" + "w" * 25,
        "review:ok:42:reason with spaces",
        "reviewer:ok:42",
        "",
        None,
    ],
)
def test_data_the_bot_did_not_make_is_not_read(data: str | None) -> None:
    verdict = Button("review", OneOf("ok", "no"), Number(), Word(24), optional_last=True)
    assert verdict.read(data) is None
    assert data is None or verdict.pattern.match(data) is None  # so no handler is given it


def test_making_data_a_button_would_refuse_is_a_bug_caught_at_once() -> None:
    case = Button("review:see", Number())
    for wrong in (-1, "12a", "٣"):
        with pytest.raises(ValueError):
            case(wrong)
    with pytest.raises(ValueError):  # over Telegram's 64 bytes
        Button("x" * 40, Word(40))("w" * 30)


def test_no_handler_writes_or_parses_button_data_by_hand() -> None:
    from pathlib import Path

    by_hand = (
        'callback_data=f"',
        'callback_data="',
        "query.data.split",
        "query.data.removeprefix",
        ".data.rsplit",
    )
    offenders = [
        f"{path}: {needle}"
        for path in Path(bot.handlers.__file__).parent.parent.rglob("*.py")
        for needle in by_hand
        if needle in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
