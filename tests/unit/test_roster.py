"""The roster core (core/roster/) on a real store: catalogue, write rules, reads, lists."""

from __future__ import annotations

import gc
import re
import threading

import pytest

from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.people import users
from openroster.core.roster import catalogue as roster_catalogue
from openroster.core.roster import employees as roster_employees
from openroster.core.roster import records as roster_records
from openroster.core.roster import writes as roster_writes
from openroster.core.roster.profile import EmployeeList
from openroster.core.roster.writes import FieldWrite as F
from openroster.core.roster.writes import GroupWrite as G
from openroster.core.roster.writes import SectionWrite as S
from openroster.core.tenancy import tenants
from openroster.dialects.dingtalk.roster import PRE_ENTRY_NAMES
from openroster.model.entities import AttributeUpdate, User, UserAttributeUpdate
from openroster.model.errors import BrokenReference, Conflict, InvalidValue, MissingField, NotFound, TooMany

T = "acme"


@pytest.fixture
def acme(directory: Directory) -> Directory:
    tenants.create(directory, tenant_id=T, name="Acme")
    with directory.writer() as tx:
        from openroster.core.people import depts

        eng = depts.ensure_path(tx, directory, tenant_id=T, names=["Eng"])
        ops = depts.ensure_path(tx, directory, tenant_id=T, names=["Ops"])
    users.create_many(
        directory,
        tenant_id=T,
        items=[
            users.NewUser(id="boss", user_name="老板", dept_ids=(1,), phone="13800000000"),
            users.NewUser(
                id="u1", user_name="张三", dept_ids=(eng.id, ops.id), leader_id="boss", phone="13800000001"
            ),
            users.NewUser(id="u2", user_name="李四", dept_ids=(eng.id,), status="notactive"),
            users.NewUser(id="u3", user_name="王五", dept_ids=(eng.id,), status="dimission"),
            users.NewUser(id="u4", user_name="赵六", dept_ids=(ops.id,), status="disabled"),
        ],
        field_prefix="",
    )
    return directory


def _read(
    d: Directory, uid: str = "u1", codes: tuple[str, ...] = ()
) -> dict[str, list[tuple[int, str, str]]]:
    with d.reader() as r:
        rec = roster_records.read_records(r, tenant_id=T, user_ids=[uid])[0]
        (values,) = roster_records.read_values(r, tenant_id=T, records=[rec])
    wanted = codes or tuple(rec.catalogue.fields)
    return {c: [(v.row, v.value, v.label) for v in rec.get(c, values)] for c in wanted}


def _edu(*rows: tuple[int | None, dict[str, str]]) -> list[G]:
    return [
        G("sys03", tuple(S(tuple(F(k, v) for k, v in fields.items()), old_index=i) for i, fields in rows))
    ]


# -- catalogue -----------------------------------------------------------------------------------


def test_catalogue_groups_fields_and_options() -> None:
    ids = [g.id for g in roster_catalogue.SYSTEM_GROUPS]
    assert ids == [f"sys0{i}" for i in range(10)]
    assert {g.id for g in roster_catalogue.SYSTEM_GROUPS if g.detail} == {"sys03", "sys06", "sys07"}
    for g in roster_catalogue.SYSTEM_GROUPS:
        for f in g.fields:
            assert f.code.startswith(f"{g.id}-") and f.group_id == g.id
            assert f.field_type in roster_catalogue.FieldType
            assert (f.field_type is roster_catalogue.FieldType.SELECT) == bool(f.options)
            assert len({o.value for o in f.options}) == len(f.options)
    fields = roster_catalogue.SYSTEM_FIELDS
    nations = fields["sys02-nationType"].options
    assert len(nations) == 56 and len({o.label for o in nations}) == 56
    assert fields["sys02-nationType"].label("1") == "汉族"
    assert fields["sys02-nationType"].label("56") == "基诺族"
    assert fields["sys01-employeeType"].label("1") == "全职"
    assert fields["sys02-sexType"].label("2") == "女"
    assert [o.label for o in fields["sys03-highestEdu"].options][-3:] == ["硕士", "博士", "其他"]
    assert "群众" in {o.label for o in fields["sys02-politicalStatus"].options}
    assert len(fields["sys05-contractType"].options) == 9
    assert fields["sys08-personalPhoto"].field_type is roster_catalogue.FieldType.PHOTO
    assert fields["sys00-confirmJoinTime"].field_type is roster_catalogue.FieldType.DATE
    read_only = {c for c, f in fields.items() if f.read_only}
    assert read_only == {"sys00-deptIds", "sys00-dept", "sys00-mainDept", "sys00-reportManager"}
    assert {c for c, f in fields.items() if f.derived} == {
        "sys00-dept",
        "sys00-mainDept",
        "sys00-reportManager",
    }


def test_custom_group_follows_attribute_definitions(acme: Directory) -> None:
    attributes.create_definitions(
        acme,
        tenant_id=T,
        items=[
            attributes.NewDefinition(id="desk", name="工位", value_type="text"),
            attributes.NewDefinition(id="lvl", name="职级", value_type="option", options=(("P1", "P1级"),)),
            attributes.NewDefinition(id="home", name="主页", value_type="url"),
            attributes.NewDefinition(id="mentor", name="导师", value_type="relation_user"),
            attributes.NewDefinition(id="near", name="协作部门", value_type="relation_depts"),
        ],
    )
    with acme.reader() as r:
        cat = roster_catalogue.catalogue(r, tenant_id=T)
        assert roster_catalogue.catalogue(r, tenant_id=T) is cat  # built once per definitions version
    custom = cat.groups[-1]
    assert custom.id == roster_catalogue.CUSTOM_GROUP_ID and not custom.detail
    by = {f.code: f for f in custom.fields}
    assert list(by) == ["desk", "lvl", "home", "mentor", "near"]
    assert by["lvl"].field_type is roster_catalogue.FieldType.SELECT and by["lvl"].label("P1") == "P1级"
    assert {c for c, f in by.items() if f.read_only} == {"home", "near"}


# -- writes ----------------------------------------------------------------------------------------


def test_rows_of_a_detail_group(acme: Directory) -> None:
    # The seed's example on a person with no rows yet: old_index 0, 1, 2 name the next row each time.
    roster_writes.update(
        acme,
        tenant_id=T,
        user_id="u1",
        groups=_edu(
            (
                0,
                {
                    "sys03-highestEdu": "1",
                    "sys03-graduateSchool": "清华大学",
                    "sys03-graduationTime": "2020-09-01",
                },
            ),
            (
                1,
                {
                    "sys03-highestEdu": "2",
                    "sys03-graduateSchool": "清华附中",
                    "sys03-graduationTime": "2016-09-01",
                },
            ),
            (
                2,
                {
                    "sys03-highestEdu": "3",
                    "sys03-graduateSchool": "清华附小",
                    "sys03-graduationTime": "2010-09-01",
                },
            ),
        ),
    )
    got = _read(acme, codes=("sys03-highestEdu", "sys03-graduateSchool", "sys03-major"))
    assert got["sys03-graduateSchool"] == [
        (0, "清华大学", "清华大学"),
        (1, "清华附中", "清华附中"),
        (2, "清华附小", "清华附小"),
    ]
    assert got["sys03-highestEdu"][0] == (0, "1", "小学")
    assert got["sys03-major"] == [(0, "", ""), (1, "", ""), (2, "", "")]  # rows line up
    # old_index edits that row, only the fields sent.
    roster_writes.update(acme, tenant_id=T, user_id="u1", groups=_edu((1, {"sys03-major": "数学"})))
    got = _read(acme, codes=("sys03-graduateSchool", "sys03-major"))
    assert got["sys03-major"][1] == (1, "数学", "数学")
    assert got["sys03-graduateSchool"][1] == (1, "清华附中", "清华附中")
    # No old_index adds a row; the fields it does not send are empty.
    roster_writes.update(acme, tenant_id=T, user_id="u1", groups=_edu((None, {"sys03-major": "物理"})))
    got = _read(acme, codes=("sys03-graduateSchool", "sys03-major"))
    assert got["sys03-major"][3] == (3, "物理", "物理")
    assert got["sys03-graduateSchool"][3] == (3, "", "")
    # A row further than the next one does not exist.
    with pytest.raises(
        InvalidValue, match=r"groups\[0\]\.sections\[0\]\.old_index: group 'sys03' has no row 9"
    ):
        roster_writes.update(acme, tenant_id=T, user_id="u1", groups=_edu((9, {"sys03-major": "x"})))


def test_a_plain_group_has_one_row(acme: Directory) -> None:
    groups = [G("sys02", (S((F("sys02-realName", "张三"), F("sys02-certNo", "110101199001011234"))),))]
    roster_writes.update(acme, tenant_id=T, user_id="u1", groups=groups)
    # Without old_index (a client that drops old_index: 0) the single row is edited, not replaced.
    roster_writes.update(
        acme, tenant_id=T, user_id="u1", groups=[G("sys02", (S((F("sys02-address", "北京"),)),))]
    )
    got = _read(acme, codes=("sys02-realName", "sys02-certNo", "sys02-address"))
    assert got == {
        "sys02-realName": [(0, "张三", "张三")],
        "sys02-certNo": [(0, "110101199001011234", "110101199001011234")],
        "sys02-address": [(0, "北京", "北京")],
    }
    with pytest.raises(InvalidValue, match="exactly one row"):
        roster_writes.update(
            acme, tenant_id=T, user_id="u1", groups=[G("sys02", (S((F("sys02-address", "x"),), 1),))]
        )
    # "" clears a field.
    roster_writes.update(
        acme, tenant_id=T, user_id="u1", groups=[G("sys02", (S((F("sys02-address", ""),), 0),))]
    )
    assert _read(acme, codes=("sys02-address",)) == {"sys02-address": []}


@pytest.mark.parametrize(
    ("group", "code", "value", "error", "message"),
    [
        ("sys03", "sys03-highestEdu", "42", InvalidValue, "'42' is not an option of sys03-highestEdu"),
        ("sys03", "sys03-graduationTime", "2020/09/01", InvalidValue, "not a date in yyyy-MM-dd"),
        ("sys03", "sys03-graduationTime", "2020-02-30", InvalidValue, "not a date in yyyy-MM-dd"),
        ("sys00", "sys00-dept", "研发", InvalidValue, "cannot be updated through the roster"),
        ("sys00", "sys00-reportManager", "boss", InvalidValue, "cannot be updated through the roster"),
        ("sys00", "sys00-deptIds", "1", InvalidValue, "cannot be updated"),
        ("sys00", "sys99-nope", "1", InvalidValue, "'sys99-nope' is not a field of group 'sys00'"),
        ("sys00", "sys02-address", "1", InvalidValue, "'sys02-address' is not a field of group 'sys00'"),
        ("sys08", "sys08-personalPhoto", "ftp://x/y.png", InvalidValue, "http(s) URL"),
        ("sys02", "sys02-address", "x" * 501, InvalidValue, "longer than 500"),
        ("sys00", "sys00-email", "not-an-email", InvalidValue, "value: sys00-email is not an email address"),
        ("sys00", "sys00-name", "", MissingField, "section[0].value: sys00-name is required"),
        ("sys00", "sys00-mobile", "13800000000", Conflict, "already used by user 'boss'"),
    ],
)
def test_bad_writes_name_the_item_and_change_nothing(
    acme: Directory, group: str, code: str, value: str, error: type[Exception], message: str
) -> None:
    before = _read(acme)
    good = G("sys02", (S((F("sys02-realName", "改了"),), 0),))
    bad = G(group, (S((F(code, value),), 0 if group != "sys03" else None),))
    with pytest.raises(error, match=re.escape(message)) as caught:
        roster_writes.update(acme, tenant_id=T, user_id="u1", groups=[good, bad], prefix="param.")
    assert str(caught.value.field).startswith("param.groups[1].sections[0]")  # type: ignore[attr-defined]
    assert _read(acme) == before  # all or nothing: the good group was not written either


def test_unknown_user_group_and_limits(acme: Directory) -> None:
    with pytest.raises(NotFound, match=re.escape("param.userid: user 'ghost' does not exist")):
        roster_writes.update(
            acme, tenant_id=T, user_id="ghost", groups=_edu((None, {})), prefix="param.", user_field="userid"
        )
    with pytest.raises(InvalidValue, match="no roster group 'sys42'"):
        roster_writes.update(acme, tenant_id=T, user_id="u1", groups=[G("sys42", (S((F("a", "b"),)),))])
    with pytest.raises(MissingField):
        roster_writes.update(acme, tenant_id=T, user_id="u1", groups=[])
    with pytest.raises(TooMany, match="the limit is 50"):
        roster_writes.update(
            acme,
            tenant_id=T,
            user_id="u1",
            groups=[G("sys03", tuple(S((F("sys03-major", "m"),)) for _ in range(51)))],
        )
    with pytest.raises(InvalidValue, match="appears twice"):
        roster_writes.update(
            acme,
            tenant_id=T,
            user_id="u1",
            groups=[G("sys02", (S((F("sys02-address", "a"), F("sys02-address", "b"))),))],
        )


def test_profile_fields_write_the_user_record(acme: Directory) -> None:
    groups = [
        G(
            "sys00",
            (
                S(
                    (
                        F("sys00-mobile", "13900000009"),
                        F("sys00-position", "架构师"),
                        F("sys00-jobNumber", "E9"),
                        F("sys00-workPlace", "杭州"),
                    ),
                    0,
                ),
            ),
        ),
        G("sys02", (S((F("sys02-sexType", "2"),), 0),)),
        G("sys01", (S((F("sys01-employeeType", "3"), F("sys01-employeeStatus", "2")), 0),)),
    ]
    roster_writes.update(acme, tenant_id=T, user_id="u1", groups=groups)
    with acme.reader() as r:
        u = users.get(r, tenant_id=T, user_id="u1")
    assert (u.phone, u.title, u.employee_id, u.work_place) == ("13900000009", "架构师", "E9", "杭州")
    assert (u.gender.value, u.employment_type, u.employment_status) == ("female", "intern", "probationary")
    got = _read(acme, codes=("sys02-sexType", "sys01-employeeType", "sys01-employeeStatus"))
    assert got == {
        "sys02-sexType": [(0, "2", "女")],
        "sys01-employeeType": [(0, "3", "实习")],
        "sys01-employeeStatus": [(0, "2", "试用")],
    }
    # "0" (无类型), "-1" (无状态) and "" clear.
    roster_writes.update(
        acme,
        tenant_id=T,
        user_id="u1",
        groups=[
            G("sys01", (S((F("sys01-employeeType", "0"), F("sys01-employeeStatus", "-1")), 0),)),
            G("sys02", (S((F("sys02-sexType", ""),), 0),)),
        ],
    )
    with acme.reader() as r:
        u = users.get(r, tenant_id=T, user_id="u1")
    assert (u.gender.value, u.employment_type, u.employment_status) == ("undefined", None, None)


def test_main_department_changes_only_to_a_department_of_the_person(acme: Directory) -> None:
    with acme.reader() as r:
        u = users.get(r, tenant_id=T, user_id="u1")
    first, second = u.dept_ids
    assert u.def_dept_id == first

    def set_main(value: str) -> int | None:
        roster_writes.update(
            acme, tenant_id=T, user_id="u1", groups=[G("sys00", (S((F("sys00-mainDeptId", value),), 0),))]
        )
        with acme.reader() as r:
            return users.get(r, tenant_id=T, user_id="u1").def_dept_id

    assert set_main("1") == first  # not one of theirs: no effect, no error
    assert set_main(str(second)) == second
    got = _read(acme, codes=("sys00-mainDeptId", "sys00-mainDept", "sys00-deptIds", "sys00-dept"))
    assert got["sys00-mainDeptId"] == [(0, str(second), str(second))]
    assert got["sys00-mainDept"] == [(0, "Ops", "Ops")]
    assert [v for _, v, _ in got["sys00-deptIds"]] == [str(first), str(second)]
    assert [v for _, v, _ in got["sys00-dept"]] == ["Eng", "Ops"]


def test_custom_group_reads_and_writes_attributes(acme: Directory) -> None:
    attributes.create_definitions(
        acme,
        tenant_id=T,
        items=[
            attributes.NewDefinition(id="desk", name="工位", value_type="text"),
            attributes.NewDefinition(id="lvl", name="职级", value_type="option", options=(("P1", "P1级"),)),
            attributes.NewDefinition(id="home", name="主页", value_type="url"),
            attributes.NewDefinition(id="mentor", name="导师", value_type="relation_user"),
        ],
    )
    cg = roster_catalogue.CUSTOM_GROUP_ID
    roster_writes.update(
        acme,
        tenant_id=T,
        user_id="u1",
        groups=[G(cg, (S((F("desk", "3F-12"), F("lvl", "P1"), F("mentor", "boss"))),))],
    )
    with acme.reader() as r:
        values = attributes.read_values(r, tenant_id=T, user_ids=["u1"])["u1"]
    assert {v.attr_id: v.value for v in values} == {"desk": "3F-12", "lvl": "P1", "mentor": "boss"}
    got = _read(acme, codes=("desk", "lvl", "mentor"))
    assert got == {
        "desk": [(0, "3F-12", "3F-12")],
        "lvl": [(0, "P1", "P1级")],
        "mentor": [(0, "boss", "老板")],
    }
    with pytest.raises(InvalidValue, match="'P9' is not an option of lvl"):
        roster_writes.update(acme, tenant_id=T, user_id="u1", groups=[G(cg, (S((F("lvl", "P9"),)),))])
    with pytest.raises(BrokenReference, match=re.escape("section[0].value: user 'ghost' does not exist")):
        roster_writes.update(acme, tenant_id=T, user_id="u1", groups=[G(cg, (S((F("mentor", "ghost"),)),))])
    with pytest.raises(InvalidValue, match="cannot be updated"):
        roster_writes.update(acme, tenant_id=T, user_id="u1", groups=[G(cg, (S((F("home", "https://x"),)),))])
    # A WPS-side write is seen by the roster read at once (the cache drops the user's record).
    attributes.update_values(
        acme,
        tenant_id=T,
        updates=[
            UserAttributeUpdate(
                "u1",
                (
                    AttributeUpdate(attr_id="desk", text="9F-01"),
                    AttributeUpdate(
                        attr_id="home", url_title="主页", url_link="https://h.test/u1", has_url=True
                    ),
                ),
            )
        ],
    )
    got = _read(acme, codes=("desk", "home"))
    assert got == {"desk": [(0, "9F-01", "9F-01")], "home": [(0, "https://h.test/u1", "主页")]}
    # Renaming the referenced person shows at once, too.
    users.update(acme, tenant_id=T, user_id="boss", changes={"user_name": "大老板"})
    assert _read(acme, codes=("mentor", "sys00-reportManager")) == {
        "mentor": [(0, "boss", "大老板")],
        "sys00-reportManager": [(0, "大老板", "大老板")],
    }


def test_concurrent_writers_of_different_fields_both_land(acme: Directory) -> None:
    codes = ["sys02-realName", "sys02-certNo", "sys02-address", "sys04-bankAccountNo"]
    errors: list[BaseException] = []

    def writer(code: str) -> None:
        group = code.split("-", maxsplit=1)[0]
        try:
            for i in range(10):
                roster_writes.update(
                    acme, tenant_id=T, user_id="u1", groups=[G(group, (S((F(code, f"{code}#{i}"),)),))]
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(c,)) for c in codes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    got = _read(acme, codes=tuple(codes))
    assert got == {c: [(0, f"{c}#9", f"{c}#9")] for c in codes}


def test_records_keep_order_skip_unknown_and_are_memoized(acme: Directory) -> None:
    with acme.reader() as r:
        recs = roster_records.read_records(r, tenant_id=T, user_ids=["u2", "ghost", "u1", "u2"])
        assert [x.user.id for x in recs] == ["u2", "u1"]
        again = roster_records.read_records(r, tenant_id=T, user_ids=["u1"])
        assert again[0].linked is recs[1].linked  # the same names: the same object
        assert roster_records.read_values(r, tenant_id=T, records=[]) == []
        with pytest.raises(TooMany):
            roster_records.read_records(r, tenant_id=T, user_ids=[f"x{i}" for i in range(101)])


def _alive(address: int) -> bool:
    """Whether the boss before the change (the object at ``address``, not yet "CEO") still exists."""
    gc.collect()
    return any(isinstance(o, User) and id(o) == address and o.title != "CEO" for o in gc.get_objects())


def test_a_record_does_not_keep_a_replaced_leader_alive(acme: Directory) -> None:
    """u1's record shows its leader's name; once the leader changes, the old leader object is freed.

    (A memo that kept the leader object itself kept every replaced version of every
    leader alive while the follower was not read again: the soak's growing memory.)
    """
    with acme.reader() as r:
        roster_records.read_records(r, tenant_id=T, user_ids=["u1"])
        old_boss = id(r.users(T, ["boss"])["boss"])
    users.update(acme, tenant_id=T, user_id="boss", changes={"title": "CEO"})
    with acme.reader() as r:
        new_boss = r.users(T, ["boss"])["boss"]
        assert new_boss.title == "CEO"
    assert not _alive(old_boss)
    assert _read(acme, codes=("sys00-reportManager",))["sys00-reportManager"] == [(0, "老板", "老板")]


def test_employee_lists_follow_wps_status(acme: Directory) -> None:
    def page(
        kind: EmployeeList, statuses: list[str] | None = None, offset: int = 0, size: int = 50
    ) -> list[str]:
        with acme.reader() as r:
            return roster_employees.list_employees(
                r, tenant_id=T, kind=kind, employment_statuses=statuses, offset=offset, size=size
            ).user_ids

    assert page(EmployeeList.ON_JOB, ["2", "3", "5", "-1"]) == ["boss", "u1", "u4"]
    assert page(EmployeeList.PRE_ENTRY) == ["u2"]
    assert page(EmployeeList.DIMISSION) == ["u3"]
    users.update(acme, tenant_id=T, user_id="u1", changes={"employment_status": "regular"})
    assert page(EmployeeList.ON_JOB, ["3"]) == ["u1"]
    assert page(EmployeeList.ON_JOB, ["-1"]) == ["boss", "u4"]
    with acme.reader() as r:
        first = roster_employees.list_employees(
            r, tenant_id=T, kind=EmployeeList.ON_JOB, employment_statuses=None, offset=0, size=2
        )
        last = roster_employees.list_employees(
            r, tenant_id=T, kind=EmployeeList.ON_JOB, employment_statuses=None, offset=2, size=2
        )
    assert (first.user_ids, first.next_offset) == (["boss", "u1"], 2)
    assert (last.user_ids, last.next_offset) == (["u4"], None)
    with pytest.raises(InvalidValue, match="size must be between 1 and 50"):
        page(EmployeeList.DIMISSION, size=51)
    with pytest.raises(InvalidValue, match="'7' is not an employee status"):
        page(EmployeeList.ON_JOB, ["7"])


def test_pre_entry(acme: Directory) -> None:
    made = roster_employees.add_pre_entry(
        acme,
        tenant_id=T,
        item=roster_employees.PreEntry(
            name="新人", mobile="13700000000", pre_entry_date="2030-01-02 09:00:00", employee_type="1"
        ),
        prefix="param.",
    )
    assert made.status.value == "notactive" and made.employment_type == "permanent"
    with acme.reader() as r:
        assert (
            made.id
            in roster_employees.list_employees(
                r, tenant_id=T, kind=EmployeeList.PRE_ENTRY, offset=0, size=50
            ).user_ids
        )
    assert _read(acme, made.id, ("sys00-confirmJoinTime",)) == {
        "sys00-confirmJoinTime": [(0, "2030-01-02", "2030-01-02")]
    }
    with pytest.raises(Conflict) as caught:
        roster_employees.add_pre_entry(
            acme,
            tenant_id=T,
            item=roster_employees.PreEntry(name="又一个", mobile="13800000001"),
            prefix="param.",
        )
    assert caught.value.field == "param.mobile"
    with pytest.raises(InvalidValue, match="employeeType"):
        roster_employees.add_pre_entry(
            acme,
            tenant_id=T,
            item=roster_employees.PreEntry(name="x", mobile="13600000000", employee_type="9"),
            prefix="param.",
            names=PRE_ENTRY_NAMES,
        )


def test_demo_roster_is_valid_deterministic_and_resumable(acme: Directory) -> None:
    from openroster.fixtures import demo_roster

    written = demo_roster.load(acme, tenant_id=T)
    assert written > 5 * 25
    assert demo_roster.load(acme, tenant_id=T) == 0  # people with a roster are left alone
    got = _read(acme, "u1")
    assert len(got["sys03-highestEdu"]) >= 2 and got["sys03-highestEdu"][1][2] == "本科"
    assert got["sys06-urgentContactsName"] and got["sys05-contractType"] == [(0, "1", "固定期限劳动合同")]
    cert = got["sys02-certNo"][0][1]
    assert len(cert) == 18 and cert[6:14] == got["sys02-birthTime"][0][1].replace("-", "")
    with acme.reader() as r:
        u1 = users.get(r, tenant_id=T, user_id="u1")
    assert demo_roster.person_roster(u1, None) == demo_roster.person_roster(u1, None)
    with pytest.raises(InvalidValue, match="not a stored field"), acme.writer() as tx:
        roster_writes.load_in(tx, tenant_id=T, records={"u2": [G("sys00", (S((F("sys00-name", "x"),)),))]})


def test_rendered_items_follow_renames_writes_and_new_attributes(acme: Directory) -> None:
    import orjson

    from openroster.core.people import depts
    from openroster.dialects.dingtalk import render

    def listing(codes: tuple[str, ...] | None) -> dict[str, list[str]]:
        with acme.reader() as r:
            pieces = render.roster_list(r, ["u1"], tenant_id=T, corp_id="c", codes=codes, field="user_ids")
        raw = b"".join(pieces)
        (entry,) = orjson.loads(raw)
        return {
            f["field_code"]: [v["label"] for v in f["field_value_list"]] for f in entry["field_data_list"]
        }

    assert listing(None)["sys00-dept"] == ["Eng", "Ops"]
    assert listing(("sys00-reportManager",)) == {"sys00-reportManager": ["老板"]}
    # Another person's change moves the version: the item is checked again and is still current.
    before = listing(None)
    users.update(acme, tenant_id=T, user_id="u2", changes={"title": "另一个职位"})
    assert listing(None) == before
    with acme.reader() as r:
        eng = users.get(r, tenant_id=T, user_id="u1").dept_ids[0]
    depts.update(acme, tenant_id=T, dept_id=eng, changes=depts.DeptChanges(name="Engineering"))
    users.update(acme, tenant_id=T, user_id="boss", changes={"user_name": "新老板"})
    assert listing(None)["sys00-dept"] == ["Engineering", "Ops"]
    assert listing(("sys00-reportManager",)) == {"sys00-reportManager": ["新老板"]}
    roster_writes.update(
        acme, tenant_id=T, user_id="u1", groups=[G("sys02", (S((F("sys02-marriage", "2"),)),))]
    )
    assert listing(None)["sys02-marriage"] == ["已婚"]
    attributes.create_definitions(
        acme, tenant_id=T, items=[attributes.NewDefinition(id="desk", name="工位", value_type="text")]
    )
    assert listing(None)["desk"] == []
