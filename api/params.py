"""Query and path parameters that many routes take, each defined once: every route that takes
one checks it and documents it alike."""

from __future__ import annotations

from typing import Annotated

from litestar.params import PathParameter, QueryParameter

from api.schemas import ID_MAX

ISO_DAY = r"^\d{4}-\d{2}-\d{2}$"

PathId = Annotated[int, PathParameter(ge=1, le=ID_MAX)]
QueryId = Annotated[int, QueryParameter(ge=1, le=ID_MAX)]
OptionalId = Annotated[int | None, QueryParameter(ge=1, le=ID_MAX)]
Limit = Annotated[int, QueryParameter(ge=1, le=500, description="Page size (default 50).")]
Cursor = Annotated[str | None, QueryParameter(max_length=100, description="From next_cursor.")]
# A period of local days, `?from=2026-12-01&to=2026-12-31`.
FromDay = Annotated[str, QueryParameter(name="from", pattern=ISO_DAY)]
ToDay = Annotated[str, QueryParameter(pattern=ISO_DAY)]
OptionalFromDay = Annotated[str | None, QueryParameter(name="from", pattern=ISO_DAY)]
OptionalDay = Annotated[str | None, QueryParameter(pattern=ISO_DAY)]
Format = Annotated[str | None, QueryParameter(pattern=r"^(json|csv)$")]
