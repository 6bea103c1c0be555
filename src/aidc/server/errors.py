"""Service errors that map to HTTP statuses; routers never build error responses themselves."""

from __future__ import annotations

from aidc.core.errors import AidcError


class ServiceError(AidcError):
    status_code = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadRequest(ServiceError):
    status_code = 422


class Unauthorized(ServiceError):
    status_code = 401


class Forbidden(ServiceError):
    status_code = 403


class NotFound(ServiceError):
    status_code = 404


class Conflict(ServiceError):
    status_code = 409


class Unavailable(ServiceError):
    """The server is stopping or a part of it is down; the client may retry."""

    status_code = 503


class TooMany(ServiceError):
    """A per-tenant limit was reached; `retry_after_s` says when asking again can succeed (Retry-After)."""

    status_code = 429

    def __init__(self, message: str, field: str | None = None, retry_after_s: float = 1.0) -> None:
        super().__init__(message, field)
        self.retry_after_s = retry_after_s
