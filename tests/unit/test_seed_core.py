"""Seed files: the documented examples load, a bad seed changes nothing and names the item."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from store_state import store_rows

from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.people import depts
from openroster.core.tenancy import apps, tenants
from openroster.fixtures.seed import SeedError, load_seed, read_seed
from openroster.model.entities import AttributeValue, Gender, Role, Signing, UrlValue, UserStatus

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _users(d: Directory, tenant_id: str, *ids: str) -> dict[str, Any]:
    with d.reader() as r:
        return dict(r.users(tenant_id, list(ids)))


def test_the_yaml_example_loads_completely(directory: Directory) -> None:
    assert load_seed(directory, read_seed(EXAMPLES / "seed.yaml")) == ["acme"]
    t = tenants.get(directory, "acme")
    assert (t.name, t.wps_company_id, t.dingtalk_corp_id) == ("极客科技有限公司", "acme", "dingacme")

    tree = {x.abs_path: x for x in depts.list_all(directory, tenant_id="acme")}
    assert sorted(tree) == [
        "/极客科技有限公司",
        "/极客科技有限公司/研发部",
        "/极客科技有限公司/研发部/平台组",
        "/极客科技有限公司/研发部/平台组/存储小组",
        "/极客科技有限公司/销售部",
        "/极客科技有限公司/销售部/华东区",
    ]
    dev = tree["/极客科技有限公司/研发部"]
    assert (dev.id, dev.order, dev.ex_dept_id, dev.parent_id) == (10, 1, "hr-dept-10", 1)
    assert tree["/极客科技有限公司/销售部"].order == 2
    storage = tree["/极客科技有限公司/研发部/平台组/存储小组"]
    east = tree["/极客科技有限公司/销售部/华东区"]

    people = _users(directory, "acme", "u-ceo", "u-dev-lead", "u-dev-1", "u-sales-1")
    assert len(people) == 4
    ceo = people["u-ceo"]
    assert (ceo.user_name, ceo.email, ceo.phone, ceo.gender, ceo.role) == (
        "林晓峰",
        "lin.xiaofeng@acme.example",
        "13800000001",
        Gender.MALE,
        Role.SUPER_ADMIN,
    )
    assert (ceo.employee_id, ceo.ex_user_id, ceo.login_name, ceo.title, ceo.telephone) == (
        "A0001",
        "hr-0001",
        "linxiaofeng",
        "总经理",
        "010-88880001",
    )
    assert (ceo.employer, ceo.employment_status, ceo.employment_type) == (
        "极客科技有限公司",
        "regular",
        "permanent",
    )
    assert (ceo.work_place, ceo.city, ceo.country) == ("北京市海淀区中关村大街 1 号", "北京", "中国")
    assert ceo.avatar == "https://avatars.acme.example/u-ceo.png"
    assert [(m.dept_id, m.is_leader) for m in ceo.memberships] == [(1, True)]
    lead = people["u-dev-lead"]
    assert (lead.leader_id, lead.def_dept_id, [(m.dept_id, m.is_leader) for m in lead.memberships]) == (
        "u-ceo",
        10,
        [(10, True)],
    )
    dev1 = people["u-dev-1"]
    assert dev1.dept_ids == (storage.id, east.id)
    assert dev1.def_dept_id == storage.id
    assert dev1.employment_status == "probationary"
    assert people["u-sales-1"].status is UserStatus.NOTACTIVE

    with directory.reader() as r:
        defs = attributes.definitions(r, tenant_id="acme")
        values = attributes.read_values(r, tenant_id="acme", user_ids=["u-dev-lead", "u-dev-1", "u-ceo"])
    assert [(a.id, a.value_type.value) for a in defs] == [
        ("desk", "text"),
        ("level", "option"),
        ("homepage", "url"),
        ("mentor", "relation_user"),
        ("partners", "relation_depts"),
    ]
    sales = tree["/极客科技有限公司/销售部"]
    assert values == {
        "u-dev-lead": [
            AttributeValue("desk", "5F-001"),
            AttributeValue("level", "P7"),
            AttributeValue("homepage", UrlValue("王芳的主页", "https://wiki.acme.example/wangfang")),
            AttributeValue("partners", (sales.id, east.id)),
        ],
        "u-dev-1": [
            AttributeValue("desk", "5F-017"),
            AttributeValue("level", "P5"),
            AttributeValue("homepage", UrlValue("", "https://wiki.acme.example/zhangwei")),
            AttributeValue("mentor", "u-dev-lead"),
        ],
        "u-ceo": [],
    }

    by_id = {a.client_id: a for a in apps.list_for_tenant(directory, "acme")}
    assert set(by_id) == {"acme-kso", "acme-attrs", "acme-reader"}
    assert by_id["acme-attrs"].signing is Signing.WPS4
    assert by_id["acme-kso"].signing is Signing.KSO1
    assert by_id["acme-kso"].name == "通讯录同步"
    assert "kso.user_custom_attr.readwrite" in by_id["acme-kso"].scopes
    assert (by_id["acme-reader"].signing, by_id["acme-reader"].scopes) == (
        Signing.NONE,
        frozenset({"kso.contact.read"}),
    )
    token, ttl = apps.issue_token(directory, client_id="acme-kso", client_secret="acme-kso-secret")
    assert ttl == 7200
    with directory.reader() as r:
        assert apps.authenticate(r, token).client_id == "acme-kso"


def test_the_json_example_loads(directory: Directory) -> None:
    assert load_seed(directory, read_seed(EXAMPLES / "seed.json")) == ["globex"]
    tree = {x.abs_path: x for x in depts.list_all(directory, tenant_id="globex")}
    assert tree["/Globex Corporation/Engineering/Tools"].ex_dept_id == "eng-tools"
    people = _users(directory, "globex", "hank", "homer")
    assert people["homer"].leader_id == "hank"
    assert people["homer"].dept_ids == (tree["/Globex Corporation/Engineering/Tools"].id,)
    with directory.reader() as r:
        values = attributes.read_values(r, tenant_id="globex", user_ids=["hank", "homer"])
    assert values == {"hank": [AttributeValue("shirt", "l")], "homer": [AttributeValue("shirt", "m")]}
    [app] = apps.list_for_tenant(directory, "globex")
    assert app.signing is Signing.WPS4GM


def test_the_wps_doc_example_tenant_loads(directory: Directory) -> None:
    assert load_seed(directory, read_seed(EXAMPLES / "wps-doc-examples.yaml")) == ["wps-doc"]
    assert set(_users(directory, "wps-doc", "string")) == {"string"}


def test_loading_twice_changes_nothing(directory: Directory) -> None:
    data = read_seed(EXAMPLES / "seed.yaml")
    load_seed(directory, data)
    before = store_rows(directory)
    assert load_seed(directory, data) == []
    assert store_rows(directory) == before


def _acme() -> dict[str, Any]:
    return copy.deepcopy(read_seed(EXAMPLES / "seed.yaml")["tenants"][0])


def _bad(mutate: Any) -> dict[str, Any]:
    t = _acme()
    mutate(t)
    return {"tenants": [t]}


BAD_SEEDS: list[tuple[str, Any, str]] = [
    ("bad email", lambda t: t["users"][2].update(email="not-an-email"), "tenants[0].users[2].email"),
    (
        "taken email",
        lambda t: t["users"][3].update(email="wang.fang@acme.example"),
        "tenants[0].users[3].email",
    ),
    ("no user_name", lambda t: t["users"][1].pop("user_name"), "tenants[0].users[1].user_name"),
    ("unknown gender", lambda t: t["users"][0].update(gender="robot"), "tenants[0].users[0].gender"),
    ("unknown leader", lambda t: t["users"][1].update(leader_id="nobody"), "tenants[0].users[1].leader_id"),
    ("depts not a list", lambda t: t["users"][1].update(depts="研发部"), "tenants[0].users[1].depts"),
    ("user not a mapping", lambda t: t["users"].append("bob"), "tenants[0].users[4]"),
    (
        "option not in options",
        lambda t: t["users"][2]["custom_attrs"].update(level="P9"),
        "tenants[0].users[2].custom_attrs.level",
    ),
    (
        "unknown attribute",
        lambda t: t["users"][2]["custom_attrs"].update(shoe_size="42"),
        "tenants[0].users[2].custom_attrs.shoe_size",
    ),
    (
        "relation to nobody",
        lambda t: t["users"][2]["custom_attrs"].update(mentor="nobody"),
        "tenants[0].users[2].custom_attrs.mentor",
    ),
    (
        "custom_attrs not a mapping",
        lambda t: t["users"][2].update(custom_attrs=["x"]),
        "tenants[0].users[2].custom_attrs",
    ),
    (
        "bad value type",
        lambda t: t["custom_attributes"][0].update(value_type="number"),
        "tenants[0].custom_attributes[0].value_type",
    ),
    (
        "duplicate attribute",
        lambda t: t["custom_attributes"][1].update(name="工位"),
        "tenants[0].custom_attributes[1].name",
    ),
    ("bad signing", lambda t: t["apps"][1].update(signing="rsa"), "tenants[0].apps[1].signing"),
    (
        "short secret",
        lambda t: t["apps"][0].update(client_secret="short"),
        "tenants[0].apps[0].client_secret",
    ),
    ("bad client id", lambda t: t["apps"][0].update(client_id="a b"), "tenants[0].apps[0].client_id"),
    (
        "dept id not an integer",
        lambda t: t["departments"][0].update(id="ten"),
        "tenants[0].departments[0].id",
    ),
    ("empty dept path", lambda t: t["departments"].append({"order": 3}), "tenants[0].departments[5].path"),
    ("bad tenant id", lambda t: t.update(id="a b"), "tenants[0].id"),
]


@pytest.mark.parametrize(("mutate", "field"), [pytest.param(m, f, id=n) for n, m, f in BAD_SEEDS])
def test_a_bad_seed_loads_nothing_and_names_the_item(directory: Directory, mutate: Any, field: str) -> None:
    before = store_rows(directory)
    with pytest.raises(SeedError) as info:
        load_seed(directory, _bad(mutate))
    assert info.value.field == field, info.value.message
    assert info.value.message.startswith(field), info.value.message
    assert store_rows(directory) == before


def test_a_seed_loads_in_one_transaction(directory: Directory) -> None:
    """A bad second tenant keeps the good first one out too."""
    good = _acme()
    bad = {"id": "beta", "name": "Beta", "users": [{"id": "x", "user_name": "X", "email": "nope"}]}
    before = store_rows(directory)
    with pytest.raises(SeedError) as info:
        load_seed(directory, {"tenants": [good, bad]})
    assert info.value.field == "tenants[1].users[0].email"
    assert store_rows(directory) == before
    assert tenants.find(directory, "acme") is None


@pytest.mark.parametrize(
    ("text", "suffix", "where"),
    [
        ("tenants: [", ".yaml", "not valid YAML"),
        ("{", ".json", "not valid JSON"),
        ("- just a list", ".yaml", "'tenants' list"),
        ("tenants: {acme: {}}", ".yml", "'tenants' list"),
        ("{}", ".json", "'tenants' list"),
    ],
)
def test_unreadable_seed_files(tmp_path: Path, text: str, suffix: str, where: str) -> None:
    path = tmp_path / f"seed{suffix}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SeedError, match=where):
        read_seed(path)


def test_a_tenant_without_id(directory: Directory) -> None:
    with pytest.raises(SeedError) as info:
        load_seed(directory, {"tenants": [{"name": "No id"}]})
    assert info.value.field == "tenants[0].id"


def test_value_errors_name_the_seed_user_past_the_first_batch(directory: Directory) -> None:
    """Values reach the core 100 users at a time; the error still names the seed's own item."""
    t = {
        "id": "big",
        "name": "Big",
        "custom_attributes": [
            {"id": "level", "name": "Level", "value_type": "option", "options": [{"key": "a", "name": "A"}]},
            {"id": "teams", "name": "Teams", "value_type": "relation_depts"},
        ],
        "users": [{"id": f"u{i}", "user_name": f"U{i}", "custom_attrs": {"level": "a"}} for i in range(150)],
    }
    t["users"][7]["custom_attrs"] = {}  # users without values shift the core's batch index
    t["users"][130]["custom_attrs"] = {"Level": "a", "teams": [1, 999]}
    before = store_rows(directory)
    with pytest.raises(SeedError) as info:
        load_seed(directory, {"tenants": [t]})
    assert info.value.field == "tenants[0].users[130].custom_attrs.teams[1]"
    assert (
        info.value.message == "tenants[0].users[130].custom_attrs.teams[1]: department '999' does not exist"
    )
    assert store_rows(directory) == before
    t["users"][130]["custom_attrs"] = {"Level": "b"}
    with pytest.raises(SeedError) as info:
        load_seed(directory, {"tenants": [t]})
    assert info.value.message.startswith(
        "tenants[0].users[130].custom_attrs.Level: 'b' is not an option of attribute 'level'"
    )
    del t["users"][130]["custom_attrs"]
    assert load_seed(directory, {"tenants": [t]}) == ["big"]


def test_a_tenant_listed_twice(directory: Directory) -> None:
    with pytest.raises(SeedError) as info:
        load_seed(directory, {"tenants": [{"id": "a"}, {"id": "a"}]})
    assert info.value.field == "tenants[1].id"
    assert tenants.find(directory, "a") is None


def test_docs_show_the_example_the_tests_load() -> None:
    doc = (EXAMPLES.parent / "docs" / "seed.md").read_text(encoding="utf-8")
    [shown] = re.findall(r"```yaml\n(.*?)```", doc, re.DOTALL)
    assert shown == (EXAMPLES / "seed.yaml").read_text(encoding="utf-8")


def test_the_documented_error_messages(directory: Directory) -> None:
    doc = (EXAMPLES.parent / "docs" / "seed.md").read_text(encoding="utf-8")
    t = _acme()
    t["users"][3]["email"] = "not-an-email"
    with pytest.raises(SeedError) as info:
        load_seed(directory, {"tenants": [t]})
    assert f"`{info.value.message}`" in doc
    t = _acme()
    t["users"][2]["custom_attrs"]["level"] = "P9"
    with pytest.raises(SeedError) as info:
        load_seed(directory, {"tenants": [t]})
    assert f"`{info.value.message}`" in doc
