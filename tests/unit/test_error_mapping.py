"""Every expected rejection leaves the API with a deliberate status."""

from __future__ import annotations

import pytest

from api.errors import STATUS_BY_CODE
from ledger.domain.errors import LedgerError


def all_subclasses(cls: type[LedgerError]) -> list[type[LedgerError]]:
    found: list[type[LedgerError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(all_subclasses(sub))
    return found


ERRORS = all_subclasses(LedgerError)


def test_there_are_errors_to_map() -> None:
    assert len(ERRORS) >= 20


@pytest.mark.parametrize("error", ERRORS, ids=lambda cls: cls.__name__)
def test_every_ledger_error_code_has_a_status(error: type[LedgerError]) -> None:
    assert error.code in STATUS_BY_CODE, f"{error.__name__}.code {error.code!r} has no status"
    assert 400 <= STATUS_BY_CODE[error.code] < 500


@pytest.mark.parametrize("error", ERRORS, ids=lambda cls: cls.__name__)
def test_every_code_is_stable_snake_case(error: type[LedgerError]) -> None:
    assert error.code.replace("_", "").isalpha()
    assert error.code == error.code.lower()


def test_the_status_table_names_no_retired_codes() -> None:
    assert set(STATUS_BY_CODE) <= {cls.code for cls in ERRORS}
