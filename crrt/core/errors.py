"""Domain errors: raised by services, turned into RFC 9457 problems at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class FieldError:
    """One invalid input field: where it is and what is wrong with it."""

    loc: list[str | int]
    msg: str
    type: str = "value_error"

    def as_dict(self) -> dict[str, Any]:
        return {"loc": self.loc, "msg": self.msg, "type": self.type}


class DomainError(Exception):
    """Base of every error a service may raise on purpose."""

    def __init__(self, detail: str = "", status: int = 400, slug: str = "bad-request",
                 title: str = "Bad request", extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.slug = slug
        self.title = title
        self.extra = extra or {}


class NotFound(DomainError):
    def __init__(self, detail: str = "No such item.") -> None:
        super().__init__(detail, 404, "not-found", "Not found")


class Forbidden(DomainError):
    def __init__(self, detail: str = "You may not do this.") -> None:
        super().__init__(detail, 403, "forbidden", "Forbidden")


class Unauthenticated(DomainError):
    def __init__(self, detail: str = "Sign in or send a valid bearer token.") -> None:
        super().__init__(detail, 401, "unauthenticated", "Not signed in")


class Conflict(DomainError):
    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail, 409, "conflict", "Conflict", extra)


class TooManyRequests(DomainError):
    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, 429, "too-many-requests", "Too many requests",
                         {"retry_after": retry_after})


class Invalid(DomainError):
    """Input that parsed but breaks a rule; ``errors`` lists every offending field."""

    def __init__(self, detail: str, errors: list[FieldError] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail, 422, "validation", "Invalid input", extra)
        self.errors = errors or []

    @classmethod
    def field(cls, loc: str | list[str | int], msg: str) -> Invalid:
        """One field is wrong: the usual case."""
        path: list[str | int] = [loc] if isinstance(loc, str) else loc
        return cls(msg, [FieldError(path, msg)])
