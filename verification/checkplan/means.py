"""Which verification records show that a retiree was checked, and by what means: pure rules
over a record's event, method and detail.

A retiree is checked when a record confirms they are alive and entitled: a certification of
any kind (self-service video, in person at a counter or at home, staff review, data from
another agency, a check on site), or the answer to another region's assistance request in
which staff saw the retiree. A visit that found nobody, or found the person but could not
certify them, is a record too, but it checks nobody.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

# The method of the records a check on site writes (a certification, or a visit that found
# nobody), and of its Certification row.
ONSITE_METHOD = "onsite_check"
# The events that can show a check; `means_of` decides for each record.
QUALIFYING_EVENTS = ("certified", "review_approved", "assisted_visit")
# An assistance answer's findings in which the visiting staff saw the retiree alive
# (verification.records.assistance.FINDINGS).
SEEN_FINDINGS = frozenset({"alive_certified", "seen_not_certified"})


class Means(StrEnum):
    SELF_SERVICE = "self_service"  # a video note (or a photo) sent in the chat
    IN_PERSON = "in_person"  # a photo staff took at a service point
    HOME_VISIT = "home_visit"  # a photo staff took at the retiree's home
    STAFF_REVIEW = "staff_review"  # staff decided a review case in the retiree's favour
    DATA = "data"  # silently, from another agency's record of life
    ASSISTANCE = "assistance"  # this region's staff saw the retiree for another region
    ONSITE_CHECK = "onsite_check"  # a check of the check plan
    OTHER = "other"  # a certification by a method this version does not know


_CERTIFIED_BY = {
    "self_video": Means.SELF_SERVICE,
    "self_photo": Means.SELF_SERVICE,
    "review": Means.STAFF_REVIEW,
    "data": Means.DATA,
    ONSITE_METHOD: Means.ONSITE_CHECK,
}


def means_of(event: str, method: str, detail: Mapping[str, Any] | None) -> Means | None:
    """The means by which the record shows the retiree checked, or None if it shows no check."""
    detail = detail or {}
    if event == "certified":
        if method == "assisted_photo":
            return Means.HOME_VISIT if detail.get("place") == "home_visit" else Means.IN_PERSON
        return _CERTIFIED_BY.get(method, Means.OTHER)
    if event == "review_approved":
        return Means.STAFF_REVIEW
    if event == "assisted_visit" and method == "assistance":
        answer = detail.get("assistance")
        finding = answer.get("finding") if isinstance(answer, Mapping) else None
        return Means.ASSISTANCE if finding in SEEN_FINDINGS else None
    return None
