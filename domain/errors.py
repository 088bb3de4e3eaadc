"""Typed refusals raised by services; the API maps each kind to one status code."""


class DomainError(Exception):
    kind = "RuleViolation"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class RuleViolation(DomainError):
    kind = "RuleViolation"


class NotAllowed(DomainError):
    kind = "NotAllowed"


class NotFound(DomainError):
    kind = "NotFound"


class Conflict(DomainError):
    kind = "Conflict"
