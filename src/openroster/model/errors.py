"""The core's errors: what went wrong, in the domain's words.

Each dialect maps these to its own wire codes (see ``dialects/*/errors.py``).
Every error names the offending field or item in ``field`` so that the reply
can say exactly what to fix. Callers that name fields their own way (the
spreadsheet import) and dialects read the error as data: ``kind`` says what
went wrong, ``entity`` what it is about (the user, department, tenant... that
is missing, taken or wrong), ``index`` the item of the batch the service was
given, ``item_field`` that item's field at fault (a user field such as
``email``, a custom attribute by its id, a roster field by its code), and
``detail`` the message without the field it starts with.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Self


class Entity(StrEnum):
    """What an error is about."""

    USER = "user"
    DEPARTMENT = "department"
    ATTRIBUTE = "attribute"
    ATTRIBUTE_DEFINITION = "attribute_definition"
    ROSTER_FIELD = "roster_field"
    TENANT = "tenant"
    APP = "app"


class ErrorKind(StrEnum):
    """What went wrong, as a dialect needs to know it to pick its code."""

    INVALID_VALUE = "invalid_value"
    MISSING_FIELD = "missing_field"
    TOO_MANY = "too_many"
    UNKNOWN_ATTRIBUTE = "unknown_attribute"
    ATTRIBUTE_VALUE_MISMATCH = "attribute_value_mismatch"
    BROKEN_REFERENCE = "broken_reference"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    RULE_VIOLATION = "rule_violation"
    AUTH = "auth"
    SCOPE_MISSING = "scope_missing"
    THROTTLED = "throttled"
    BUSY = "busy"


#: The field of a batch item an error is about: whose field (a user's, a custom attribute's by its
#: id, a roster field's by its code) and its name.
ItemField = tuple[Entity, str]


class CoreError(Exception):
    """Base of every error the core raises on purpose."""

    kind: ClassVar[ErrorKind] = ErrorKind.INVALID_VALUE

    def __init_subclass__(cls, *, kind: ErrorKind | None = None, **rest: object) -> None:
        super().__init_subclass__(**rest)
        if kind is not None:
            cls.kind = kind

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        entity: Entity | None = None,
        index: int | None = None,
        item_field: ItemField | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        #: What the error is about: the user, department, tenant... that is missing, taken or wrong.
        self.entity = entity
        #: The item of the batch the service was given (``users[3]`` is 3).
        self.index = index
        #: The field of that item at fault, as data (``(Entity.USER, "email")``).
        self.item_field = item_field

    @property
    def detail(self) -> str:
        """The message without the field path it starts with (for callers that name the field)."""
        if self.field and self.message.startswith(self.field):
            return self.message[len(self.field) :].lstrip(": ")
        return self.message

    def in_field(self, owner: Entity, name: str) -> Self:
        """Say which field of the item the error is about, unless a closer place already did."""
        if self.item_field is None:
            self.item_field = (owner, name)
        return self

    def at_item(self, index: int) -> Self:
        """Say which item of the batch the error is about, unless already said; returns the error."""
        if self.index is None:
            self.index = index
        return self


class InvalidValue(CoreError, kind=ErrorKind.INVALID_VALUE):
    """A field has the wrong type, format or value."""


class MissingField(CoreError, kind=ErrorKind.MISSING_FIELD):
    """A required field is absent or empty."""


class TooMany(CoreError, kind=ErrorKind.TOO_MANY):
    """A batch or list is larger than its documented limit."""

    def __init__(self, message: str, *, field: str | None = None, limit: int) -> None:
        super().__init__(message, field=field)
        self.limit = limit


class UnknownAttribute(CoreError, kind=ErrorKind.UNKNOWN_ATTRIBUTE):
    """A custom attribute id that the tenant does not define."""


class AttributeValueMismatch(CoreError, kind=ErrorKind.ATTRIBUTE_VALUE_MISMATCH):
    """A value that its attribute's definition does not allow."""


class BrokenReference(CoreError, kind=ErrorKind.BROKEN_REFERENCE):
    """A reference to a user or department that does not exist in the tenant (``entity`` says which)."""


class NotFound(CoreError, kind=ErrorKind.NOT_FOUND):
    """The addressed user, department, tenant or app does not exist (``entity`` says which)."""


class Conflict(CoreError, kind=ErrorKind.CONFLICT):
    """A value that must be unique within the tenant is already taken."""


class RuleViolation(CoreError, kind=ErrorKind.RULE_VIOLATION):
    """A directory rule forbids the change (e.g. deleting a non-empty department)."""


class AuthError(CoreError, kind=ErrorKind.AUTH):
    """Credentials were missing, wrong or expired. ``reason`` says which."""

    def __init__(self, message: str, *, reason: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.reason = reason


class ScopeMissing(CoreError, kind=ErrorKind.SCOPE_MISSING):
    """The app lacks a scope or permission the call requires."""

    def __init__(self, message: str, *, scope: str) -> None:
        super().__init__(message, field=scope)
        self.scope = scope


class BulkConflict(Exception):
    """A bulk-loaded row broke a unique index or a foreign key; ``columns`` names what clashed when known.

    The store raises it (not a :class:`CoreError`: the rows are the caller's, already checked);
    the service that loaded the rows says which of its items they were.
    """

    def __init__(self, table: str, columns: tuple[str, ...], detail: str) -> None:
        super().__init__(f"{table}: {detail}")
        self.table = table
        self.columns = columns
        self.detail = detail


class Throttled(CoreError, kind=ErrorKind.THROTTLED):
    """Too many attempts; ``retry_after`` says in how many seconds one more would be let through."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Busy(CoreError, kind=ErrorKind.BUSY):
    """The server cannot take the call now (its write queue is full); ``retry_after`` says in how
    many seconds to try again."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
