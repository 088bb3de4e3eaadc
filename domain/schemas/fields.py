"""The one input rule every schema shares: clean, bounded text; finite, bounded numbers;
ids that fit a 64-bit column.

Text reaches workflow histories and PostgreSQL, which refuses NUL and lone surrogates:
such a character accepted at the edge fails every later write. So it is refused here,
with the field named, before anything starts.
"""

import unicodedata
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

INT64_MAX = 2**63 - 1
ALLOWED_CONTROLS = frozenset("\n\r\t")


def text_problem(value: str) -> str | None:
    """Why a text is refused, or None: NUL, a lone surrogate, or a control character
    other than newline, carriage return and tab."""
    for ch in value:
        if ch in ALLOWED_CONTROLS:
            continue
        category = unicodedata.category(ch)
        if ch == "\x00":
            return "must not contain NUL characters"
        if category == "Cs":
            return "must not contain unpaired surrogate characters"
        if category == "Cc":
            return f"must not contain control characters (U+{ord(ch):04X})"
    return None


def clean_text(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _text(max_length: int):
    return Annotated[str, StringConstraints(max_length=max_length), AfterValidator(clean_text)]


# One alias per column size; a field narrows further with Field(min_length=...) only.
Unit = _text(20)
Code = _text(60)  # asset, part and job numbers, locations, serial numbers
Label = _text(120)
ShortText = _text(200)  # titles, names, reasons, file names
Key = _text(40)  # site, area, type and shift codes
Line = _text(500)  # captions, task descriptions
LongText = _text(2000)
Note = _text(10_000)  # descriptions, notes, REX sections


def _number(lowest: float, highest: float):
    return Annotated[float, Field(allow_inf_nan=False, ge=lowest, le=highest)]


# Finite and within a plausible range, so sums and products stay finite too.
Money = _number(0, 1e9)
Quantity = _number(0, 1e6)
Reading = _number(0, 1e12)
Measurement = _number(-1e12, 1e12)


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def plausible_moment(value: datetime) -> datetime:
    """Within 1970-2200, so converting it to UTC and storing it cannot overflow."""
    refusal = ValueError(f"must lie between {EARLIEST.year} and {LATEST.year}")
    try:
        utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        raise refusal from None
    if not EARLIEST <= utc < LATEST:
        raise refusal
    return value


Moment = Annotated[datetime, AfterValidator(plausible_moment)]
