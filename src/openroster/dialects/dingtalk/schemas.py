"""Request bodies of the DingTalk endpoints, as pydantic models.

DingTalk clients are loose about types: the official curl example sends
``"agentid": "23470561"``, SDKs send lists as comma-separated strings and
object fields as JSON strings (form bodies always do). These models accept
each of those spellings and nothing looser: a number is an integer or a
string of digits (never a boolean), a list is a JSON array or a
comma-separated string. Unknown fields are ignored, as the platform does.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from openroster.dialects import ambiguity
from openroster.dialects.validation import ambiguous, one_spelling

#: Numbers beyond 64 bits fit no store column (and never name anything).
_NUMBER_MAX = 2**63 - 1


def _number(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError("expected a number")
    if isinstance(v, str):
        s = v.strip()
        if not (s.lstrip("-").isdigit() and s.isascii() and len(s) <= 20):
            raise ValueError("expected a number or a string of digits")
        v = int(s)
    if isinstance(v, int) and not -_NUMBER_MAX <= v <= _NUMBER_MAX:
        raise ValueError(f"{v} is out of range (at most {_NUMBER_MAX})")
    return v


def _text(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError("expected a string")
    if isinstance(v, int | float):
        return str(v)
    return v


def _str_list(v: Any) -> Any:
    if isinstance(v, str):
        s = v.strip()
        if s.startswith("["):
            try:
                v = orjson.loads(s)
            except orjson.JSONDecodeError:
                raise ValueError("expected a JSON array or a comma-separated string") from None
        else:
            return [p.strip() for p in s.split(",") if p.strip()]
    if isinstance(v, list):
        return [_text(x) for x in v]
    return v


def _json_object(v: Any) -> Any:
    if isinstance(v, str | bytes):
        try:
            parsed = orjson.loads(v)
        except orjson.JSONDecodeError:
            raise ValueError("expected a JSON object (or a string holding one)") from None
        try:
            repeated = ambiguity.repeated_key(v.encode() if isinstance(v, str) else v, parsed)
        except ambiguity.Unchecked as exc:
            raise ValueError(str(exc)) from None
        if repeated is not None:
            raise ambiguous(repeated.message())
        return parsed
    return v


Number = Annotated[int, BeforeValidator(_number)]
Text = Annotated[str, BeforeValidator(_text)]
TextList = Annotated[list[str], BeforeValidator(_str_list)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class AgentBody(_Body):
    #: Checked by the endpoint wrapper (a bad one is errcode 52019, not a parameter error).
    agentid: Any = Field(default=None, description="The app's AgentId (a number or a string of digits).")


class FieldIn(_Body):
    field_code: Text
    #: Required; ``null`` and ``""`` clear the field.
    value: Text | None


class SectionIn(_Body):
    old_index: Number | None = Field(default=None, description="Row to edit; leave out to add a row.")
    section: list[FieldIn]


class GroupIn(_Body):
    group_id: Text
    sections: list[SectionIn]


class RosterUpdateParam(_Body):
    userid: Text | None = None
    #: Some clients spell it ``user_id``.
    user_id: Text | None = None
    groups: list[GroupIn]


class RosterUpdateBody(AgentBody):
    param: Annotated[RosterUpdateParam, BeforeValidator(_json_object)]
    #: Some clients send the user outside ``param``.
    userid: Text | None = None
    user_id: Text | None = None

    @model_validator(mode="after")
    def _one_user(self) -> RosterUpdateBody:
        """The user is named once: ``param.userid``, or one of the spellings clients use instead."""
        inner, outer = self.param.model_fields_set, self.model_fields_set
        one_spelling(
            [f"param.{n}" for n in ("userid", "user_id") if n in inner]
            + [n for n in ("userid", "user_id") if n in outer]
        )
        return self


class RosterListBody(AgentBody):
    userid_list: TextList = Field(description="At most 100 userids (array or comma-separated).")
    field_filter_list: TextList | None = Field(
        default=None, description="At most 100 field codes; all fields when left out."
    )


class QueryOnJobBody(_Body):
    status_list: TextList = Field(description="2 probation, 3 regular, 5 leaving, -1 none (comma-separated).")
    offset: Number
    size: Number


class QueryPageBody(_Body):
    offset: Number
    size: Number


class PreEntryExtend(_Body):
    depts: Text | None = Field(default=None, description="Department ids separated by '|'.")
    mainDeptId: Number | None = None  # the platform spells these in camelCase
    mainDeptName: Text | None = None
    position: Text | None = None
    workPlace: Text | None = None
    jobNumber: Text | None = None
    employeeType: Text | None = None


class PreEntryParam(_Body):
    name: Text
    mobile: Text
    pre_entry_time: Text | None = None
    op_userid: Text | None = None
    extend_info: Annotated[PreEntryExtend, BeforeValidator(_json_object)] | None = None


class AddPreEntryBody(_Body):
    param: Annotated[PreEntryParam, BeforeValidator(_json_object)]


class UserGetBody(_Body):
    userid: Text
    language: Text | None = None


class DeptIdBody(_Body):
    dept_id: Number
    language: Text | None = None


class ListSubBody(_Body):
    dept_id: Number = 1
    language: Text | None = None
