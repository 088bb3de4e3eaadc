"""Path and query parameters shared by the routers, bounded to what the columns take:
rows are keyed by PostgreSQL `integer` (32 bits) and OFFSET takes a `bigint`."""

from typing import Annotated

from fastapi import Path, Query

from domain.schemas.fields import INT64_MAX

ROW_ID_MAX = 2**31 - 1

RowId = Annotated[int, Path(ge=0, le=ROW_ID_MAX)]
Offset = Annotated[int, Query(ge=0, le=INT64_MAX)]
After = Annotated[int, Query(ge=0, le=ROW_ID_MAX)]  # an event id
