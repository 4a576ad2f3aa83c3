"""Reading HTML forms: every field checked, a bad one refused as `validation_error` naming it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar import Request
from litestar.datastructures import FormMultiDict, UploadFile

from api.schemas import ID_MAX
from ledger.domain.errors import InvalidInput

TEXT_LENGTH_MAX = 500
MANY_MAX = 500


async def read(request: Request[Any, Any, Any]) -> FormMultiDict:
    return await request.form()


def text(form: FormMultiDict, name: str, length_max: int = TEXT_LENGTH_MAX) -> str:
    value = form.get(name, "")
    if not isinstance(value, str) or len(value) > length_max:
        raise InvalidInput(name, f"text of at most {length_max} characters")
    return value.strip()


def required(form: FormMultiDict, name: str, length_max: int = TEXT_LENGTH_MAX) -> str:
    value = text(form, name, length_max)
    if not value:
        raise InvalidInput(name, "is required")
    return value


def integer(form: FormMultiDict, name: str, low: int = 1, high: int = ID_MAX) -> int:
    return whole_number(text(form, name, 20), name, low, high)


def whole_number(value: str | None, name: str, low: int = 1, high: int = ID_MAX) -> int:
    """ASCII digits only: `str.isdigit` also takes `²` and `①`, which `int` then refuses, and
    `int` takes other scripts' digits (`٣`), which no form of ours offers."""
    digits = None if value is None else value.strip()
    if not digits or not (digits.isascii() and digits.isdigit()) or not low <= int(digits) <= high:
        raise InvalidInput(name, f"a whole number from {low} to {high}")
    return int(digits)


def choice(form: FormMultiDict, name: str, choices: Iterable[str]) -> str:
    value = text(form, name, 64)
    if value not in set(choices):
        raise InvalidInput(name, "not one of the choices")
    return value


def many(form: FormMultiDict, name: str, choices: Iterable[str]) -> list[str]:
    allowed = set(choices)
    values = [v for v in form.getall(name, []) if isinstance(v, str)]
    if len(values) > MANY_MAX or any(v not in allowed for v in values):
        raise InvalidInput(name, "not among the choices")
    return values


def id_list(form: FormMultiDict, name: str) -> list[int]:
    values = [v for v in form.getall(name, []) if isinstance(v, str)]
    if len(values) > MANY_MAX:
        raise InvalidInput(name, f"at most {MANY_MAX}")
    return [whole_number(v, name) for v in values]


async def upload(form: FormMultiDict, name: str) -> tuple[bytes, str] | None:
    """A file field's bytes and declared type; None when no file was chosen (browsers send an
    empty part, which arrives as an empty string or an empty file)."""
    value = form.get(name)
    if not isinstance(value, UploadFile):
        if value not in (None, ""):
            raise InvalidInput(name, "send a file (the form must be multipart/form-data)")
        return None
    data = await value.read()
    await value.close()
    if not data and not value.filename:
        return None
    return data, value.content_type
