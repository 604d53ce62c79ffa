"""Domain errors: raised by services, rendered as a 4xx with a message in the user's language."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None, **extra: Any):
        super().__init__(message)
        self.message = str(message)
        if code:
            self.code = code
        self.field = field
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class InvalidInput(DomainError):
    status = 422


class Conflict(DomainError):
    status = 409
    code = "conflict"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"


class OutsideCity(InvalidInput):
    code = "outside_city"
