"""The staff console's retiree lists: a region's retirees for a quarter, filtered by what the
quarter asks of them (due, overdue, suspended, certified), searched by a full ID number (its
keyed hash) or a name fragment, a page at a time or exported whole as CSV or XLSX.

The ID number leaves this module masked only (`kernel.idnumber.mask_id_number`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo

from content.i18n import DEFAULT_LANGUAGE, Translator
from kernel.clock import Clock, utc_now
from kernel.idnumber import InvalidIdNumber, check_id_number, mask_id_number
from kernel.regions import region_prefix
from storage.models import Retiree
from storage.protection import PersonalDataVault
from storage.repositories.console import STATUSES, RetireeListing
from storage.uow import UnitOfWorkFactory
from verification.checkplan.quarters import Quarter

# A page's total is counted up to this many; beyond it the console shows "10,000+" (counting
# every row of a whole province exactly costs more than the page itself).
COUNT_CAP = 10_000
MAX_PER_PAGE = 200
COLUMNS = (
    "id",
    "name",
    "masked_id",
    "birth_year",
    "residence_region",
    "pension_region",
    "due_on",
    "last_certified_on",
    "payment_state",
)
PAYMENT_STATES = frozenset({"active", "suspended"})  # worded by the catalogs; others as stored
# A cell a spreadsheet would run as a formula (=, +, -, @, and the tab and return some read
# as the start of one) gets a leading apostrophe: it is then shown as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ExportFormat = Literal["csv", "xlsx"]
AGENCY_ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class RetireeLine:
    id: int
    name: str = field(repr=False)
    masked_id: str = field(repr=False)
    birth_year: int
    residence_region: str
    pension_region: str
    due_on: date | None
    last_certified_on: date | None
    payment_state: str


@dataclass(frozen=True, slots=True)
class RetireePage:
    rows: list[RetireeLine]
    total: int  # at most COUNT_CAP when total_is_capped
    page: int
    pages: int
    total_is_capped: bool


def guard_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _looks_like_id_number(text: str) -> bool:
    """Digits (an ID number's last character may be X): what staff type for an ID number.
    Names hold no digits, so such a search is an ID number or a mistake, never a name."""
    body = text[:-1] if text[-1:] in ("X", "x") else text
    return len(text) >= 6 and body.isascii() and body.isdigit()


class RetireeListService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        vault: PersonalDataVault,
        clock: Clock = utc_now,
        zone: ZoneInfo = AGENCY_ZONE,
    ) -> None:
        self._uow_factory = uow_factory
        self._vault = vault
        self._clock = clock
        self._zone = zone

    def listing(self, region: str, quarter: Quarter, status: str = "all", search: str = "") -> RetireeListing:
        """What to list; ValueError for an unknown status, a region that is not a code, or a
        search of digits that is not a valid resident ID number."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
        today = self._clock().astimezone(self._zone).date()
        search = search.strip()
        name, id_hash = "", None
        if search and _looks_like_id_number(search):
            checked = check_id_number(search, today=today)
            if isinstance(checked, InvalidIdNumber):  # the number itself is never repeated
                raise ValueError(f"the search is not a valid resident ID number ({checked.reason.value})")
            id_hash = self._vault.lookup_hash(checked.number)
        else:
            name = search
        return RetireeListing(
            region_prefix=region_prefix(region),
            status=status,
            start=quarter.first_day,
            end=quarter.end,
            today=today,
            name_contains=name,
            id_number_hash=id_hash,
        )

    async def page(
        self,
        region: str,
        quarter: Quarter,
        status: str = "all",
        search: str = "",
        page: int = 1,
        per_page: int = 25,
    ) -> RetireePage:
        if isinstance(page, bool) or not isinstance(page, int) or page < 1:
            raise ValueError(f"a page is a whole number from 1, not {page!r}")
        if isinstance(per_page, bool) or not isinstance(per_page, int) or not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page is a whole number from 1 to {MAX_PER_PAGE}, not {per_page!r}")
        listing = self.listing(region, quarter, status, search)
        async with self._uow_factory() as uow:
            retirees, counted = await uow.console.retirees(
                listing, offset=(page - 1) * per_page, limit=per_page, count_limit=COUNT_CAP + 1
            )
        capped = counted > COUNT_CAP
        total = COUNT_CAP if capped else counted
        return RetireePage(
            rows=[self._line(r) for r in retirees],
            total=total,
            page=page,
            pages=max(1, -(-total // per_page)),
            total_is_capped=capped,
        )

    async def lines(
        self, region: str, quarter: Quarter, status: str = "all", search: str = ""
    ) -> AsyncIterator[list[RetireeLine]]:
        """Every matching line in the list's order, a batch at a time."""
        listing = self.listing(region, quarter, status, search)
        async with self._uow_factory() as uow:
            async for batch in uow.console.retiree_export(listing):
                yield [self._line(r) for r in batch]

    async def export(
        self,
        region: str,
        quarter: Quarter,
        status: str = "all",
        search: str = "",
        fmt: ExportFormat = "csv",
        language: str = DEFAULT_LANGUAGE,
    ) -> bytes:
        """All matching lines as a file: CSV (UTF-8 with a byte-order mark, so that Excel shows
        the Chinese names) or XLSX; column titles from the catalogs, ID numbers masked."""
        if fmt not in ("csv", "xlsx"):
            raise ValueError(f"an export is csv or xlsx, not {fmt!r}")
        if fmt == "csv":
            return b"".join(
                [chunk async for chunk in self.csv_chunks(region, quarter, status, search, language)]
            )
        translate = Translator(language)
        titles = [translate(f"console.list.column.{column}") for column in COLUMNS]
        return await _xlsx(titles, self.lines(region, quarter, status, search), translate)

    async def csv_chunks(
        self,
        region: str,
        quarter: Quarter,
        status: str = "all",
        search: str = "",
        language: str = DEFAULT_LANGUAGE,
    ) -> AsyncIterator[bytes]:
        """The CSV export a batch at a time (the byte-order mark first), for a download that
        streams a region of any size instead of building it in memory."""
        self.listing(region, quarter, status, search)  # a bad status or search fails before a byte
        translate = Translator(language)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([guard_cell(translate(f"console.list.column.{column}")) for column in COLUMNS])
        yield out.getvalue().encode("utf-8-sig")
        async for batch in self.lines(region, quarter, status, search):
            out.seek(0)
            out.truncate()
            writer.writerows(_cells(line, translate) for line in batch)
            yield out.getvalue().encode("utf-8")

    def _line(self, retiree: Retiree) -> RetireeLine:
        return RetireeLine(
            id=retiree.id,
            name=retiree.name,
            masked_id=mask_id_number(self._vault.decrypt_text(retiree.id_number_encrypted)),
            birth_year=retiree.birth_date.year,
            residence_region=retiree.residence_region,
            pension_region=retiree.pension_region,
            due_on=retiree.due_on,
            last_certified_on=retiree.last_certified_on,
            payment_state=retiree.payment_state,
        )


def _cells(line: RetireeLine, translate: Translator) -> list[object]:
    state = line.payment_state
    if state in PAYMENT_STATES:
        state = translate(f"console.list.payment_state.{state}")
    values: Sequence[object] = (
        line.id,
        line.name,
        line.masked_id,
        line.birth_year,
        line.residence_region,
        line.pension_region,
        line.due_on,
        line.last_certified_on,
        state,
    )
    return [guard_cell(value) for value in values]


async def _xlsx(titles: list[str], rows: AsyncIterator[list[RetireeLine]], translate: Translator) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("retirees")
    sheet.append([guard_cell(title) for title in titles])
    async for batch in rows:
        for line in batch:
            sheet.append(_cells(line, translate))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
