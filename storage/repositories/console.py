"""Repository of the staff console's lists: a region's retirees filtered by what the quarter
asks of them (due, overdue, suspended, certified), by a name fragment or an ID number's keyed
hash, a page at a time or streamed whole for an export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Retiree

STATUSES = ("all", "due", "overdue", "suspended", "certified")
# Statuses listed by due date (the most urgent first); the others by roster id.
BY_DUE_DATE = frozenset({"due", "overdue"})


@dataclass(frozen=True, slots=True)
class RetireeListing:
    """Which retirees a console list shows.

    `region_prefix` is a residence region code prefix ("" for every region; "1101" for the
    regions of prefecture 110100). `status`: `all`; `due` (due_on in [start, end)); `overdue`
    (due_on before `today` and still paid); `suspended` (payment suspended); `certified`
    (last certified in [start, end)). `name_contains` is a fragment of the name;
    `id_number_hash` the keyed hash of a full ID number (storage.protection).
    """

    region_prefix: str
    status: str
    start: date
    end: date
    today: date
    name_contains: str = ""
    id_number_hash: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}; one of {', '.join(STATUSES)}")


def _next_prefix(prefix: str) -> str | None:
    """The smallest digit string of the same length after `prefix` ("1101" -> "1102"), or None
    when there is none ("99"): region codes are digits, so [prefix, next) is the prefix as a
    range that a B-tree index serves (LIKE 'prefix%' with a bound parameter does not)."""
    if not prefix.isascii() or not prefix.isdigit():
        return None
    following = str(int(prefix) + 1).zfill(len(prefix))
    return following if len(following) == len(prefix) else None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(listing: RetireeListing) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    prefix = listing.region_prefix
    if prefix:
        following = _next_prefix(prefix)
        if following is None:  # not digits, or all nines: the plain (exact) prefix test
            found.append(Retiree.residence_region.startswith(prefix, autoescape=True))
        elif len(prefix) == 6:
            found.append(Retiree.residence_region == prefix)
        else:
            found.append(and_(Retiree.residence_region >= prefix, Retiree.residence_region < following))
    status = listing.status
    if status == "due":
        found += [Retiree.due_on >= listing.start, Retiree.due_on < listing.end]
    elif status == "overdue":
        found += [Retiree.due_on < listing.today, Retiree.payment_state == "active"]
    elif status == "suspended":
        found.append(Retiree.payment_state == "suspended")
    elif status == "certified":
        found += [Retiree.last_certified_on >= listing.start, Retiree.last_certified_on < listing.end]
    if listing.name_contains:
        found.append(Retiree.name.like(f"%{_escape_like(listing.name_contains)}%", escape="\\"))
    if listing.id_number_hash is not None:
        found.append(Retiree.id_number_hash == listing.id_number_hash)
    return found or [true()]


def _ordered(query: Select[Any], status: str) -> Select[Any]:
    if status in BY_DUE_DATE:
        return query.order_by(Retiree.due_on, Retiree.id)
    return query.order_by(Retiree.id)


class ConsoleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def retirees(
        self, listing: RetireeListing, *, offset: int, limit: int, count_limit: int | None = None
    ) -> tuple[list[Retiree], int]:
        """The page's retirees (`limit` from `offset`, in the listing's order) and how many
        match in all. With `count_limit`, counting stops there: the total is then at most
        `count_limit` (a caller asks for one more than it shows, to know there are more)."""
        conditions = _conditions(listing)
        # The page's ids first, then their rows: the ids can come from an index alone (a name
        # fragment tested on ix_retirees_residence_name without reading a row), and only the
        # page's rows are read, however deep the page.
        ids = _ordered(select(Retiree.id).where(*conditions), listing.status).offset(offset).limit(limit)
        rows = _ordered(select(Retiree).where(Retiree.id.in_(ids.scalar_subquery())), listing.status)
        page = list((await self._session.execute(rows)).scalars())
        if count_limit is None:
            counted = select(func.count()).select_from(Retiree).where(*conditions)
        else:
            capped = select(Retiree.id).where(*conditions).limit(count_limit).subquery()
            counted = select(func.count()).select_from(capped)
        total = (await self._session.execute(counted)).scalar_one()
        return page, total

    async def retiree_export(
        self, listing: RetireeListing, *, batch: int = 2000
    ) -> AsyncIterator[list[Retiree]]:
        """Every matching retiree in the listing's order, `batch` at a time, read through a
        server-side cursor: a region of a million is never held at once."""
        query = _ordered(select(Retiree).where(*_conditions(listing)), listing.status)
        result = await self._session.stream(query.execution_options(yield_per=batch))
        async for part in result.scalars().partitions(batch):
            yield list(part)
            # Done with these: the identity map would otherwise keep every row streamed.
            for retiree in part:
                self._session.expunge(retiree)
