"""One exception hierarchy for every dialect's client."""

from __future__ import annotations


class OpenrosterClientError(Exception):
    """Base of the client's errors."""


class ApiError(OpenrosterClientError):
    """The platform answered with a non-zero code."""

    def __init__(self, code: int, message: str, *, http_status: int, request_id: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.request_id = request_id


class AuthenticationError(ApiError):
    """The credentials or the token were refused."""
