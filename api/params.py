"""Path and query parameters shared by the routers, bounded to what a 64-bit column and
PostgreSQL's OFFSET take."""

from typing import Annotated

from fastapi import Path, Query

from domain.schemas.fields import INT64_MAX

RowId = Annotated[int, Path(ge=0, le=INT64_MAX)]
Offset = Annotated[int, Query(ge=0, le=INT64_MAX)]
After = Annotated[int, Query(ge=0, le=INT64_MAX)]
