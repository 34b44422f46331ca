"""The roster's form through the official SDK: custom fields (Add/Update/DeleteCustomRosterField, the
WPS custom attributes) and a select field's options (RosterMetaFieldOptionsUpdate, stored per
tenant), read back through ``/topapi``, RosterMetaAvailableFieldList and WPS; every refusal is the
documented ``TeaException`` naming its field and changes nothing; each write leaves a change record."""

from __future__ import annotations

import re
from typing import Any

import httpx
import orjson
import pytest
from alibabacloud_dingtalk.hrm_1_0 import models as hrm
from alibabacloud_dingtalk.hrm_1_0.client import Client as HrmClient
from alibabacloud_tea_util.models import RuntimeOptions
from dingtalk_support import (
    AGENTID,
    ALL_PERMISSIONS,
    APPKEY,
    LIST,
    META,
    UPDATE,
    fields_of,
    refused,
    setup_tenant,
    wire,
)
from dingtalk_v1_support import V1_PERMISSIONS, access_token, sdk
from Tea.exceptions import TeaException
from wps_contacts_support import APP, SCOPES, client

from conftest import LiveServer
from openroster.core.tenancy import apps
from openroster.model.changes import EntityKind, Operation

pytestmark = pytest.mark.e2e

CUSTOM = "custom0000001"
FLAGS = {
    "required": False,
    "visible_by_emp": True,
    "hidden_from_employee_flag": False,
    "edit_from_employee_flag": True,
}


def group_of(code: str) -> str:
    """The group of a field: ``sys02`` of ``sys02-marriage``, the custom group of a custom field."""
    return code.split("-", maxsplit=1)[0] if code.startswith("sys") else CUSTOM


class World:
    def __init__(self, live: LiveServer) -> None:
        setup_tenant(live.directory, permissions=(*ALL_PERMISSIONS, *V1_PERMISSIONS))
        apps.create(live.directory, tenant_id="acme", client_id=APP, secret=f"{APP}-secret", scopes=SCOPES)
        with httpx.Client(base_url=live.base_url, timeout=30) as http:
            self.token = access_token(http)
        self.live = live
        self.hrm = sdk(HrmClient, live.base_url)
        with live.directory.store.read() as tx:
            self.seq = tx.changes.current_seq()
        # A paused subscription keeps the tenant's change records for records() (a tenant without
        # one has them pruned within a minute, which could fall inside a test).
        kept = live.control.subscribe("acme", "dingtalk_stream", APPKEY, None)
        live.control.subscription_action("acme", kept["id"], "pause")

    def call(self, name: str, token: str | None = None, **fields: Any) -> Any:
        """``name``'s SDK method with its request model of ``fields`` and this app's token."""
        model = "".join(p.title() for p in name.split("_"))
        request = getattr(hrm, f"{model}Request")(**fields)
        headers = getattr(hrm, f"{model}Headers")(x_acs_dingtalk_access_token=token or self.token)
        return getattr(self.hrm, f"{name}_with_options")(request, headers, RuntimeOptions()).body

    def add(self, name: str = "T-shirt", **fields: Any) -> Any:
        options = orjson.dumps([{"label": "S"}, {"label": "M", "value": "m"}]).decode()
        merged = {
            "group_id": CUSTOM,
            "field_name": name,
            "field_type": "DDSelectField",
            "option_text": options,
        }
        return self.call("add_custom_roster_field", **{**merged, **FLAGS, **fields})

    def options(
        self, code: str, labels: list[str], kind: str = "OPTIONS_ADD", group: str | None = None
    ) -> Any:
        group = group or group_of(code)
        return self.call(
            "roster_meta_field_options_update",
            group_id=group,
            field_code=code,
            labels=labels,
            modify_type=kind,
        )

    def meta(self) -> dict[str, dict[str, Any]]:
        """RosterMetaAvailableFieldList by field code."""
        got = self.call("roster_meta_available_field_list", app_agent_id=AGENTID)
        return {f.field_code: f.to_map() for f in got.result}

    def option_text(self, code: str) -> list[tuple[str, str]]:
        return [(o["value"], o["label"]) for o in orjson.loads(self.meta()[code]["optionText"])]

    def old_meta(self) -> dict[str, dict[str, Any]]:
        """``roster/meta/get`` of the old generation, by field code."""
        with wire(self.live.base_url) as w:
            groups = w.ok(META, {"agentid": AGENTID})["result"]
        return {
            f["field_code"]: {**f, "group_id": g["group_id"]}
            for g in groups
            for f in g["field_meta_info_list"]
        }

    def write(self, code: str, value: str, user: str = "bob") -> dict[str, Any]:
        group = {
            "group_id": group_of(code),
            "sections": [{"section": [{"field_code": code, "value": value}]}],
        }
        with wire(self.live.base_url) as w:
            return w.post(UPDATE, {"agentid": AGENTID, "param": {"userid": user, "groups": [group]}})

    def read(self, code: str, user: str = "bob") -> list[tuple[int, str, str]]:
        with wire(self.live.base_url) as w:
            got = w.ok(LIST, {"agentid": AGENTID, "userid_list": user, "field_filter_list": code})
        return fields_of(got["result"][0]).get(code, [])

    def records(self) -> list[tuple[EntityKind, Operation, str]]:
        with self.live.directory.store.read() as tx:
            got = tx.changes.records_after("acme", self.seq, 100_000)
        return [(c.record.kind, c.record.op, c.record.entity_id) for c in got]


@pytest.fixture
def world(live: LiveServer) -> World:
    return World(live)


def test_official_sdk_manages_a_custom_field_read_back_everywhere(world: World) -> None:
    added = world.add()
    assert added.success is True
    code = added.result.field_code
    assert (added.result.field_name, added.result.field_type, added.result.group_id) == (
        "T-shirt",
        "DDSelectField",
        CUSTOM,
    )
    keys = [o["value"] for o in orjson.loads(added.result.option_text)]
    assert keys[1] == "m"
    old = world.old_meta()[code]
    assert (old["field_name"], old["field_type"], old["group_id"]) == ("T-shirt", "DDSelectField", CUSTOM)
    with client(world.live.server, APP) as wps:
        (defn,) = [a for a in wps.list_custom_attr_definitions() if a.id == code]
        assert (defn.name, defn.value_type, [o.name for o in defn.options]) == (
            "T-shirt",
            "option",
            ["S", "M"],
        )
    assert world.write(code, "m")["errcode"] == 0
    assert world.read(code) == [(0, "m", "M")]
    # Renamed, with new options: M kept by its value, L added, S gone.
    new = orjson.dumps([{"label": "M", "value": "m"}, {"label": "L"}]).decode()
    updated = world.call(
        "update_custom_roster_field",
        field_code=code,
        group_id=CUSTOM,
        field_name="Shirt size",
        field_type="DDSelectField",
        option_text=new,
        update_user_id="alice",
        **FLAGS,
    )
    assert (updated.success, updated.result.field_name) == (True, "Shirt size")
    assert [label for _, label in world.option_text(code)] == ["M", "L"]
    assert world.read(code) == [(0, "m", "M")]
    deleted = world.call("delete_custom_roster_field", field_code=code, group_id=CUSTOM)
    assert (deleted.success, deleted.result) == (True, True)
    assert code not in world.meta() and code not in world.old_meta()
    with client(world.live.server, APP) as wps:
        assert code not in {a.id for a in wps.list_custom_attr_definitions()}
    kinds = [(k, op) for k, op, entity in world.records() if entity == code]
    assert kinds == [
        (EntityKind.ATTRIBUTE_DEFINITION, Operation.CREATE),
        (EntityKind.ATTRIBUTE_DEFINITION, Operation.UPDATE),
        (EntityKind.ATTRIBUTE_DEFINITION, Operation.DELETE),
    ]


def test_official_sdk_adds_and_deletes_options_of_a_system_select_field(world: World) -> None:
    marriage = "sys02-marriage"
    assert world.write(marriage, "3")["errcode"] == 0  # 离异, before it is deleted
    assert world.options(marriage, ["事实婚姻"]).result is True
    assert world.option_text(marriage)[-1] == ("6", "事实婚姻")
    old = orjson.loads(world.old_meta()[marriage]["option_text"])
    assert old[-1] == {"label": "事实婚姻", "value": "6"}
    assert world.write(marriage, "6", user="alice")["errcode"] == 0
    assert world.read(marriage, user="alice") == [(0, "6", "事实婚姻")]
    assert world.options(marriage, ["离异"], "OPTIONS_DELETE").result is True
    assert "3" not in {v for v, _ in world.option_text(marriage)}
    refused(world.write(marriage, "3", user="alice"), 400002, "not an option")
    assert world.read(marriage, user="alice") == [(0, "6", "事实婚姻")]
    assert world.read(marriage) == [(0, "3", "离异")]  # the value held is kept, with its label
    # Added again, the label gets its old value back.
    world.options(marriage, ["离异"])
    assert ("3", "离异") in world.option_text(marriage)
    assert world.write(marriage, "3", user="alice")["errcode"] == 0
    assert [r for r in world.records() if r[2] == marriage] == [
        (EntityKind.ATTRIBUTE_DEFINITION, Operation.UPDATE, marriage)
    ] * 3


def test_options_of_a_custom_select_field_follow_its_attribute(world: World) -> None:
    code = world.add().result.field_code
    world.options(code, ["XL"], group=CUSTOM)
    with client(world.live.server, APP) as wps:
        (defn,) = [a for a in wps.list_custom_attr_definitions() if a.id == code]
        assert [o.name for o in defn.options] == ["S", "M", "XL"]
    assert world.write(code, "m")["errcode"] == 0
    world.options(code, ["M"], "OPTIONS_DELETE", group=CUSTOM)
    assert world.read(code) == []  # an attribute's deleted option clears the values holding it
    assert [label for _, label in world.option_text(code)] == ["S", "XL"]


#: RosterMetaFieldOptionsUpdate refusals: the request's fields changed, and the field named.
OPTION_REFUSALS: list[tuple[dict[str, Any], str]] = [
    ({"field_code": "sys02-nope"}, "fieldCode"),
    ({"group_id": "sys03"}, "groupId"),
    ({"field_code": "sys00-name", "group_id": "sys00"}, "fieldCode"),  # a text field
    ({"field_code": "sys02-sexType"}, "fieldCode"),  # the person's own enumeration
    ({"labels": []}, "labels"),
    ({"labels": [f"x{i}" for i in range(21)]}, "labels"),
    ({"labels": ["a", "a"]}, "labels[1]"),
    ({"labels": [" "]}, "labels[0]"),
    ({"labels": ["已婚"]}, "labels[0]"),  # already an option
    ({"labels": ["nope"], "modify_type": "OPTIONS_DELETE"}, "labels[0]"),
    ({"labels": ["未婚", "已婚", "离异", "丧偶", "其他"], "modify_type": "OPTIONS_DELETE"}, "labels"),
    ({"modify_type": "OPTIONS_RENAME"}, "modifyType"),
]


def test_a_refused_options_change_changes_nothing(world: World) -> None:
    before = world.option_text("sys02-marriage")
    request = {
        "group_id": "sys02",
        "field_code": "sys02-marriage",
        "labels": ["新"],
        "modify_type": "OPTIONS_ADD",
    }
    for fields, named in OPTION_REFUSALS:
        with pytest.raises(TeaException) as err:
            world.call("roster_meta_field_options_update", **{**request, **fields})
        assert (err.value.code, err.value.statusCode) == ("invalidParameter", 400)
        assert re.search(rf"{re.escape(named)}[: ]", err.value.message), err.value.message
    assert world.option_text("sys02-marriage") == before
    assert world.records() == []


#: Add/Update/DeleteCustomRosterField refusals: the call, its fields changed, and the field named.
FIELD_REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    ("add", {"group_id": "sys02"}, "groupId"),
    ("add", {"field_type": "DDMultiSelectField"}, "fieldType"),
    ("add", {"option_text": "[{"}, "optionText"),
    ("add", {"option_text": '[{"value": "1"}]'}, "optionText[0]"),
    ("add", {"option_text": "[]"}, "optionText"),
    ("add", {"field_type": "TextField"}, "optionText"),  # a text field has no options
    ("add", {"field_name": "Badge"}, "fieldName"),  # taken
    ("add", {"field_name": "x" * 201}, "fieldName"),
    ("update", {"field_code": "nope"}, "fieldCode"),
    ("update", {"field_code": "sys02-marriage"}, "fieldCode"),
    ("update", {"field_type": "TextField"}, "fieldType"),
    ("update", {"update_user_id": "ghost"}, "updateUserId"),
    ("update", {"field_name": "Badge"}, "fieldName"),
    ("update", {"option_text": '[{"label": "a"}, {"label": "a"}]'}, "optionText[1]"),
    ("delete", {"field_code": "nope"}, "fieldCode"),
    ("delete", {"field_code": "sys02-marriage"}, "fieldCode"),
    ("delete", {"group_id": "sys02"}, "groupId"),
]


def test_a_refused_custom_field_call_changes_nothing(world: World) -> None:
    world.add("Badge")
    code = world.add("Size").result.field_code
    before, records = world.meta(), world.records()
    base: dict[str, Any] = {"group_id": CUSTOM, "field_code": code}
    options = orjson.dumps([{"label": "S"}]).decode()
    update = {
        "field_name": "T",
        "field_type": "DDSelectField",
        "option_text": options,
        "update_user_id": "alice",
    }
    for call, fields, named in FIELD_REFUSALS:
        with pytest.raises(TeaException) as err:
            if call == "add":
                world.add(**fields)
            elif call == "update":
                world.call("update_custom_roster_field", **{**base, **update, **FLAGS, **fields})
            else:
                world.call("delete_custom_roster_field", **{**base, **fields})
        assert (err.value.code, err.value.statusCode) == ("invalidParameter", 400), (call, fields)
        assert re.search(rf"{re.escape(named)}[: ]", err.value.message), err.value.message
    assert (world.meta(), world.records()) == (before, records)


def test_the_calls_need_the_roster_write_permission(world: World) -> None:
    readonly = tuple(p for p in (*ALL_PERMISSIONS, *V1_PERMISSIONS) if p != "qyapi_hrm_manager")
    apps.create(
        world.live.directory, tenant_id="acme", client_id="acme-ro", secret="acme-ro-secret", scopes=readonly
    )
    with httpx.Client(base_url=world.live.base_url, timeout=30) as http:
        token = access_token(http, appkey="acme-ro", appsecret="acme-ro-secret")
    calls: list[tuple[str, dict[str, Any]]] = [
        (
            "add_custom_roster_field",
            {"group_id": CUSTOM, "field_name": "X", "field_type": "TextField", **FLAGS},
        ),
        ("delete_custom_roster_field", {"group_id": CUSTOM, "field_code": "x"}),
        (
            "update_custom_roster_field",
            {
                "group_id": CUSTOM,
                "field_code": "x",
                "field_name": "X",
                "field_type": "TextField",
                "update_user_id": "alice",
                **FLAGS,
            },
        ),
        (
            "roster_meta_field_options_update",
            {
                "group_id": "sys02",
                "field_code": "sys02-marriage",
                "labels": ["新"],
                "modify_type": "OPTIONS_ADD",
            },
        ),
    ]
    for name, fields in calls:
        with pytest.raises(TeaException) as err:
            world.call(name, token=token, **fields)
        assert (err.value.code, err.value.statusCode) == (
            "Forbidden.AccessDenied.AccessTokenPermissionDenied",
            403,
        )
        assert err.value.data["accessdenieddetail"] == {"requiredScopes": ["qyapi_hrm_manager"]}
    assert world.records() == []
