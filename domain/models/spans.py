"""A record's time span as a range, for the GiST indexes that find the stops touching a
short window without reading every earlier start or every later end.

A stop is the closed range [start, end]; an open one (no end) runs on without bound. The
services never write a stop ending before it starts, and the index refuses one."""

from sqlalchemy import ColumnElement, func, literal, literal_column
from sqlalchemy.dialects.postgresql import TSTZRANGE


def span(start: ColumnElement, end: ColumnElement) -> ColumnElement:
    """The indexed expression; a query must spell it the same way for the index to serve."""
    return func.tstzrange(start, end, literal_column("'[]'"), type_=TSTZRANGE)


def touches(model, period) -> ColumnElement:
    """The model's span (its `start_time` and `end_time`) meets the closed window [period.start,
    period.end]: a superset of `start_time < end AND (end_time IS NULL OR end_time > start)`
    that the index answers; callers keep their exact conditions beside it."""
    window = func.tstzrange(
        literal(period.start), literal(period.end), literal_column("'[]'"), type_=TSTZRANGE
    )
    return span(model.start_time, model.end_time).op("&&")(window)
