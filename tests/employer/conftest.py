from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from content.calculators.regions import load_regions
from content.employer_service import EmployerService

TODAY = date(2026, 11, 27)


@pytest.fixture
def service(uow_factory, answerer) -> EmployerService:
    return EmployerService(
        uow_factory, answerer, load_regions(), clock=lambda: datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    )
