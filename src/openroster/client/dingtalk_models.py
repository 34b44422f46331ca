"""Typed requests and results of the DingTalk roster (智能人事) and contacts APIs."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import Field, model_serializer

from openroster.client.models import ReplyModel, RequestModel


class DingTalkModel(ReplyModel):
    """A DingTalk reply object."""


class DingTalkRequest(RequestModel):
    """A DingTalk request object."""


# -- roster results ---------------------------------------------------------------------


class RosterFieldValue(DingTalkModel):
    item_index: int = 0
    label: str = ""
    value: str = ""


class RosterFieldData(DingTalkModel):
    field_code: str
    field_name: str = ""
    group_id: str = ""
    field_value_list: list[RosterFieldValue] = Field(default_factory=list)


class EmployeeRoster(DingTalkModel):
    """One employee's roster, as ``employee/v2/list`` returns it."""

    userid: str
    corp_id: str = ""
    unionid: str = ""
    field_data_list: list[RosterFieldData] = Field(default_factory=list)

    def values(self, field_code: str) -> list[RosterFieldValue]:
        """The field's values, one per row (detail groups have several rows)."""
        for f in self.field_data_list:
            if f.field_code == field_code:
                return sorted(f.field_value_list, key=lambda v: v.item_index)
        return []

    def value(self, field_code: str, row: int = 0) -> str | None:
        """The field's value in ``row`` (select fields: the option value), or ``None``."""
        for v in self.values(field_code):
            if v.item_index == row:
                return v.value
        return None


class RosterFieldMeta(DingTalkModel):
    field_code: str
    field_name: str = ""
    derived: bool = False
    field_type: str = ""
    option_text: str | None = None

    def options(self) -> list[dict[str, str]]:
        """A select field's options, ``[{"label": ..., "value": ...}]``."""
        if not self.option_text:
            return []
        parsed: Any = orjson.loads(self.option_text)
        return [{"label": str(o.get("label", "")), "value": str(o.get("value", ""))} for o in parsed]


class RosterGroupMeta(DingTalkModel):
    group_id: str
    group_name: str = ""
    detail: bool = False
    field_meta_info_list: list[RosterFieldMeta] = Field(default_factory=list)


class RosterField(DingTalkModel):
    field_code: str
    field_name: str = ""
    field_type: str = ""


class RosterFieldGroup(DingTalkModel):
    group_id: str
    has_detail: bool = False
    field_list: list[RosterField] = Field(default_factory=list)


# -- contacts results -------------------------------------------------------------------


class DingTalkUser(DingTalkModel):
    userid: str
    name: str = ""
    mobile: str = ""
    email: str = ""
    job_number: str = ""
    title: str = ""
    telephone: str = ""
    work_place: str = ""
    dept_id_list: list[int] = Field(default_factory=list)
    manager_userid: str = ""
    hired_date: int | None = None
    active: bool = True


class DingTalkDept(DingTalkModel):
    dept_id: int
    name: str = ""
    parent_id: int | None = None


# -- roster requests --------------------------------------------------------------------


class RosterValue(DingTalkRequest):
    """One field of a row: ``value`` is text, a ``yyyy-MM-dd`` date, or a select option's value."""

    field_code: str
    value: str


class RosterSection(DingTalkRequest):
    """One row of a group. With ``old_index`` the row is edited (only the fields sent change);
    without it a new row is added (fields not sent are empty)."""

    section: list[RosterValue]
    old_index: int | None = None

    @model_serializer(mode="wrap")
    def _leave_out_new_row_index(self, handler: Any) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        if self.old_index is None:
            out.pop("old_index", None)  # 0 is kept: it edits the first row
        return out


class RosterGroup(DingTalkRequest):
    group_id: str
    sections: list[RosterSection]


class RosterUpdate(DingTalkRequest):
    """``param`` of ``employee/v2/update``."""

    userid: str
    groups: list[RosterGroup]


class PreEntry(DingTalkRequest):
    """``param`` of ``employee/addpreentry``: a person who is going to join."""

    name: str
    mobile: str
    pre_entry_time: str | None = None
    op_userid: str | None = None
    extend_info: str | None = None
