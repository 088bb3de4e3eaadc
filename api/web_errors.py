"""Refusals as the pages show them: a plain sentence at the field it is about, never the
validator's own wording ("List should have at most 5 items after validation, not 6")."""

import re

from pydantic import ValidationError

from api.errors import ApiError
from domain.errors import DomainError

_PLAIN = [
    (re.compile(r"String should have at least (\d+) characters?"), "write at least {0} characters"),
    (re.compile(r"String should have at most (\d+) characters?"), "keep it under {0} characters"),
    (re.compile(r"List should have at most (\d+) items?.*"), "at most {0}"),
    (re.compile(r"List should have at least (\d+) items?.*"), "at least {0}"),
    (re.compile(r"Field required"), "this is needed"),
    (re.compile(r"Input should be a valid (number|integer|decimal).*"), "enter a number"),
    (re.compile(r"Input should be greater than or equal to (\S+)"), "at least {0}"),
    (re.compile(r"Input should be greater than (\S+)"), "more than {0}"),
    (re.compile(r"Input should be less than or equal to (\S+)"), "at most {0}"),
    (re.compile(r"Input should be a valid datetime.*"), "enter a date and time"),
    (re.compile(r"Input should be (.*)"), "choose one of {0}"),
    (re.compile(r"Extra inputs are not permitted"), "not expected here"),
]


def plain(message: str) -> str:
    message = message.removeprefix("Value error, ")
    for pattern, text in _PLAIN:
        found = pattern.fullmatch(message)
        if found:
            return text.format(*found.groups())
    return message


def _field(loc) -> str:
    parts = [str(p) for p in loc if not isinstance(p, int)]
    return parts[-1] if parts else "form"


def field_errors(err: Exception) -> tuple[int, dict[str, str], str]:
    """(status, {field: plain message}, one line for the top of the page)."""
    if isinstance(err, ValidationError):
        errors: dict[str, str] = {}
        for e in err.errors():
            message = plain(e["msg"])
            if e["type"] in ("too_short", "too_long") and isinstance(e.get("input"), str):
                # A text's length, whatever the validator calls its parts.
                size = (e.get("ctx") or {}).get(
                    "min_length" if e["type"] == "too_short" else "max_length"
                )
                verb = "write at least" if e["type"] == "too_short" else "keep it under"
                message = f"{verb} {size} characters"
            field = _field(e["loc"])
            if ": " in message and field in ("form", "__root__"):  # "spec_min: ..."
                field, message = message.split(": ", 1)
            errors.setdefault(field, message)
        first = next(iter(errors.items()))
        return 422, errors, f"{label(first[0])}: {first[1]}"
    if isinstance(err, ApiError | DomainError):
        status = err.status if isinstance(err, ApiError) else 422
        field = err.field
        message = err.message
        if field and message.startswith(f"{field}: "):
            message = message.removeprefix(f"{field}: ")
        if field in (None, "", "body", "form"):
            return status, {}, message
        return status, {field: message}, f"{label(field)}: {message}"
    raise err


def label(field: str) -> str:
    return field.replace("_", " ")
