"""The core's errors: what went wrong, in the domain's words.

Each dialect maps these to its own wire codes (see ``dialects/*/errors.py``).
Every error names the offending field or item in ``field`` so that the reply
can say exactly what to fix.
"""

from __future__ import annotations


class CoreError(Exception):
    """Base of every error the core raises on purpose."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidValue(CoreError):
    """A field has the wrong type, format or value."""


class MissingField(CoreError):
    """A required field is absent or empty."""


class TooMany(CoreError):
    """A batch or list is larger than its documented limit."""

    def __init__(self, message: str, *, field: str | None = None, limit: int) -> None:
        super().__init__(message, field=field)
        self.limit = limit


class UnknownAttribute(CoreError):
    """A custom attribute id that the tenant does not define."""


class AttributeValueMismatch(CoreError):
    """A value that its attribute's definition does not allow."""


class BrokenReference(CoreError):
    """A reference to a user or department that does not exist in the tenant."""


class NotFound(CoreError):
    """The addressed user, department, tenant or app does not exist."""


class Conflict(CoreError):
    """A value that must be unique within the tenant is already taken."""


class RuleViolation(CoreError):
    """A directory rule forbids the change (e.g. deleting a non-empty department)."""


class AuthError(CoreError):
    """Credentials were missing, wrong or expired. ``reason`` says which."""

    def __init__(self, message: str, *, reason: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.reason = reason


class ScopeMissing(CoreError):
    """The app lacks a scope or permission the call requires."""

    def __init__(self, message: str, *, scope: str) -> None:
        super().__init__(message, field=scope)
        self.scope = scope
