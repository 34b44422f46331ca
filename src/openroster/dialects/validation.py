"""Where in a request body pydantic found a problem, as the dialects' messages name it."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

#: Names pydantic puts in an error's location for union members and validators (not fields).
_NOT_FIELDS = frozenset({"str", "int", "bool", "list[str]"})


def location(loc: tuple[int | str, ...]) -> str:
    """``("users", 0, "user_id")`` as ``users[0].user_id``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _NOT_FIELDS or "[" in part:
            continue  # a union member or a validator (``function-before[_text(), str]``)
        else:
            out += f".{part}" if out else part
    return out


def first_error(exc: ValidationError) -> tuple[dict[str, Any], str]:
    """The first problem pydantic found, and where (:func:`location`)."""
    err = exc.errors(include_url=False)[0]
    return dict(err), location(tuple(err["loc"]))


#: The pydantic error type of a body that says one thing twice (two spellings of one field, a key
#: given twice in a JSON string): each dialect refuses it with its parameter error.
AMBIGUOUS = "ambiguous"


def ambiguous(detail: str) -> PydanticCustomError:
    """The error a validator raises for an ambiguous body (pydantic adds where it was)."""
    return PydanticCustomError(AMBIGUOUS, "{detail}", {"detail": detail})


def given(data: Any, names: Collection[str]) -> list[str]:
    """Which of ``names`` the JSON object ``data`` (before validation) has, in ``names``' order."""
    return [n for n in names if n in data] if isinstance(data, dict) else []


def one_spelling(sent: Sequence[str]) -> None:
    """Refuse a body that sent more than one spelling of one field (``sent``: the names it has).

    Which one the server would take is its own choice, not the client's: the body is refused
    instead, whether or not the values agree.
    """
    if len(sent) > 1:
        raise ambiguous(f"{' and '.join(sent)} name the same field; send only one of them")


def message(err: dict[str, Any], where: str) -> str:
    """A refusal's message: where (when pydantic knows), then what."""
    return f"{where}: {err['msg']}" if where else str(err["msg"])


#: A body model's fast reader: from the decoded JSON, the handler's value for a body of the usual
#: shape, without the model (pydantic's parse of a large body costs more than the whole check by
#: hand); or None to leave the body to the model, which answers its own error naming the field.
FastReader = Callable[[Any], Any]
#: The fast readers of body models (a dialect's ``route(fast=...)``), every dialect's.
FAST_READERS: dict[type[BaseModel], FastReader] = {}


def fast_read(model: type[BaseModel], data: Any) -> Any:
    """``model``'s fast reader's value of the decoded JSON ``data``; None without one, or for a
    body it leaves to the model."""
    reader = FAST_READERS.get(model)
    return None if reader is None else reader(data)
