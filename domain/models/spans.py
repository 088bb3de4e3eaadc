"""What the indexes that find the records touching a short window (the ragged ends of a
long period) need, without reading every earlier start or every later end.

A stop's time span as a range, for GiST indexes.

A stop is the closed range [start, end]; an open one (no end) runs on without bound. The
services never write a stop ending before it starts, and the index refuses one."""

from datetime import timedelta

from sqlalchemy import ColumnElement, func, literal, literal_column, text
from sqlalchemy.dialects.postgresql import TSTZRANGE

_RANGE = TSTZRANGE()  # one type object: its cache key is computed once


def span(start: ColumnElement, end: ColumnElement) -> ColumnElement:
    """The indexed expression; a query must spell it the same way for the index to serve."""
    return func.tstzrange(start, end, literal_column("'[]'"), type_=_RANGE)


def touches(model, period) -> ColumnElement:
    """The model's span (its `start_time` and `end_time`) meets the closed window [period.start,
    period.end]: a superset of `start_time < end AND (end_time IS NULL OR end_time > start)`
    that the index answers; callers keep their exact conditions beside it."""
    return touches_between(model, literal(period.start), literal(period.end))


def touches_between(model, start: ColumnElement, end: ColumnElement) -> ColumnElement:
    """`touches` over SQL values (parameters of a statement built once)."""
    window = func.tstzrange(start, end, literal_column("'[]'"), type_=_RANGE)
    return span(model.start_time, model.end_time).op("&&")(window)


# Output counts are short (a minute to an hour) and many: a btree on their start bounds the
# scan once the longest is known, and the few longer ones are indexed apart (partial index).
LONG_COUNT = timedelta(hours=1)
LONG_COUNT_SQL = "period_end - period_start > interval '1 hour'"


def is_long_count() -> ColumnElement:
    """The partial index's predicate, spelled as it is so the planner matches it."""
    return text(LONG_COUNT_SQL)
