"""What the typed requests and results of every platform share (``wps_models``, ``dingtalk_models``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict


class ReplyModel(BaseModel):
    """A reply object: unknown fields are kept as extra attributes (the platforms add fields over
    time), missing optional ones default to empty."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class RequestModel(BaseModel):
    """A request body: unknown fields are refused, so typos fail before anything is sent."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    def body(self) -> dict[str, Any]:
        """The fields that are set, as the platform's JSON (what is not set is left out)."""
        return self.model_dump(exclude_none=True)


R = TypeVar("R", bound=RequestModel)


def request(cls: type[R], given: R | Mapping[str, Any]) -> R:
    """``given`` as a ``cls`` request: as it is when it is one already, else its fields validated
    (what the typed calls do with a request given as a model or as a mapping)."""
    return given if isinstance(given, cls) else cls.model_validate(dict(given))


M = TypeVar("M", bound=BaseModel)


def list_of(cls: type[M], key: str) -> Callable[[Any], list[M]]:
    """A reply parser: the list under ``key`` (absent or null: none) as ``cls`` objects."""

    def parse(reply: Any) -> list[M]:
        return [cls.model_validate(x) for x in reply.get(key) or []]

    return parse
