"""Personal data never reaches a log line or a traceback through a dataclass's repr: every
field of a domain dataclass whose name says it holds a name, an ID number, a phone number,
a face, a document or a code is declared `field(repr=False)`."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re

import pytest

PACKAGES = ("accounts", "verification", "content", "kernel")
PERSONAL = re.compile(
    r"^(name|retiree_name|staff_name|id_number|masked_id|masked_id_number|phone|phone_on_file|note|"
    r"document|video|reference_photo|certificate_number|cells)$"
)
# Fields with such a name that hold no personal data.
NOT_PERSONAL = {
    "verification.cycle.rules.State.name",  # the cycle state's name ("due", "overdue", ...)
    "verification.liveness.judge.ActionFinding.note",  # in_order, out_of_order, not_seen
    "verification.liveness.real_clips.RealClip.name",  # a measurement clip's file name
    "content.knowledge.model.Source.name",  # a law's title
    "content.payroll.report.ReportFile.name",  # a report's file name
    "verification.signals.sources.SourcePolicy.name",  # a feed's source ("medical_settlement")
}


def domain_dataclasses():
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if cls.__module__ == module.__name__ and dataclasses.is_dataclass(cls):
                    yield cls


def test_personal_fields_are_left_out_of_every_repr() -> None:
    shown = []
    for cls in domain_dataclasses():
        if "def __repr__" in inspect.getsource(cls):
            continue  # its own repr, kept where it shows counts only (rows of cells)
        for item in dataclasses.fields(cls):
            where = f"{cls.__module__}.{cls.__qualname__}.{item.name}"
            if PERSONAL.match(item.name) and item.repr and where not in NOT_PERSONAL:
                shown.append(where)
    assert shown == []


@pytest.mark.parametrize("name", ["王秀英", "110101194503120022"])
def test_a_result_with_a_name_does_not_show_it(name: str) -> None:
    from accounts.binding import BindOutcome, BindResult
    from verification.care.life_events import RetireeClaim

    assert name not in repr(BindResult(BindOutcome.BOUND, 1, name=name))
    assert name not in repr(RetireeClaim(1, id_number=name, name=name))
