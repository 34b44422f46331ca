"""The HR roster: its field catalogue, each person's roster record, and roster writes.

The roster is a set of **groups** of **fields**. A plain group holds one row
per person; a **detail** group (education, emergency contacts, family) holds
any number of rows, numbered from 0. A field's value is always a string: text
as is, a date as ``yyyy-MM-dd``, a select field the option's ``value``.

Where a field's value lives:

- *profile* fields mirror a user column (name, mobile, position, gender, ...;
  see ``core/mapping.py``): the roster and the WPS dialect read and write the
  same column, through :func:`openroster.core.people.users.update_in`;
- *stored* fields (ID data, education rows, contracts, ...) live in the
  ``roster_values`` table, one row per person, group, row and field, so two
  writers of different fields of one person never overwrite each other;
- the tenant's custom attributes form one *custom* group (field code =
  attribute id), read from and written through ``core/custom/attributes.py``;
- *derived* fields (department names, the manager's name) are computed.

Reading is in two steps. :func:`read_records` gives each person with the
names their record shows (departments, manager, related people): no query on
a warm cache. :func:`read_values` reads their values (two indexed queries for
any number of people); a dialect that keeps rendered replies (in the user
object's memo, which any change to the person replaces in every process's
cache) calls it only for the people it has to render again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from openroster.core import mapping, validate
from openroster.core.custom import attributes
from openroster.core.directory import Directory, Reader
from openroster.core.people import users
from openroster.model.entities import (
    AttributeDefinition,
    AttributeUpdate,
    AttributeValue,
    Department,
    UrlValue,
    User,
    UserAttributeUpdate,
    ValueType,
    serials,
)
from openroster.model.errors import BrokenReference, CoreError, InvalidValue, MissingField, NotFound, TooMany
from openroster.store import attrs as attr_rows
from openroster.store import roster as roster_rows
from openroster.store import users as user_rows
from openroster.store.base import WriteTx

#: Users per ``v2/list``.
LIST_USERS_MAX = 100
#: Field codes per ``v2/list`` filter.
LIST_FIELDS_MAX = 100
#: Groups per ``v2/update``; sections per group; fields per section.
UPDATE_GROUPS_MAX = 20
UPDATE_SECTIONS_MAX = 50
UPDATE_FIELDS_MAX = 100
#: Rows a detail group may hold for one person.
DETAIL_ROWS_MAX = 100
#: Characters in a text value; in a photo (URL) value.
TEXT_MAX = 500
PHOTO_URL_MAX = 2048
#: Page size of the employee lists.
PAGE_SIZE_MAX = 50

#: The id of the custom group holding the tenant's custom attributes.
CUSTOM_GROUP_ID = "custom0000001"
CUSTOM_GROUP_NAME = "自定义字段"


class FieldType(StrEnum):
    TEXT = "TextField"
    SELECT = "DDSelectField"
    DATE = "DDDateField"
    DATE_WITH_LONG = "DDDateWithLongField"
    PHOTO = "DDPhotoField"


class Source(StrEnum):
    PROFILE = "profile"
    STORED = "stored"
    CUSTOM = "custom"
    DERIVED = "derived"


@dataclass(frozen=True, slots=True)
class RosterOption:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class RosterField:
    code: str
    name: str
    group_id: str
    field_type: FieldType
    source: Source
    options: tuple[RosterOption, ...] = ()
    #: Computed from other fields (the platform's ``derived`` flag).
    derived: bool = False
    #: Shown, never written through the roster (a write is a parameter error).
    read_only: bool = False
    #: The custom attribute behind a custom field.
    attr: AttributeDefinition | None = None
    _labels: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    #: Rendered fragments, filled lazily by the dialects (the field never changes).
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._labels.update((o.value, o.label) for o in self.options)

    def has_option(self, value: str) -> bool:
        return value in self._labels

    def label(self, value: str) -> str:
        """The display text of ``value``: the option's label for select fields, else the value."""
        return self._labels.get(value, value) if self.options else value


@dataclass(frozen=True, slots=True)
class RosterGroup:
    id: str
    name: str
    detail: bool
    fields: tuple[RosterField, ...]


def _opts(*labels: str, start: int = 1) -> tuple[RosterOption, ...]:
    return tuple(RosterOption(str(i), label) for i, label in enumerate(labels, start=start))


def _choices(choices: tuple[mapping.Choice, ...]) -> tuple[RosterOption, ...]:
    return tuple(RosterOption(c.value, c.label) for c in choices)


#: The 56 ethnic groups, in the order (and numbering) of GB 3304.
ETHNIC_GROUPS = _opts(
    "汉族", "蒙古族", "回族", "藏族", "维吾尔族", "苗族", "彝族", "壮族", "布依族", "朝鲜族",
    "满族", "侗族", "瑶族", "白族", "土家族", "哈尼族", "哈萨克族", "傣族", "黎族", "傈僳族",
    "佤族", "畲族", "高山族", "拉祜族", "水族", "东乡族", "纳西族", "景颇族", "柯尔克孜族", "土族",
    "达斡尔族", "仫佬族", "羌族", "布朗族", "撒拉族", "毛南族", "仡佬族", "锡伯族", "阿昌族", "普米族",
    "塔吉克族", "怒族", "乌孜别克族", "俄罗斯族", "鄂温克族", "德昂族", "保安族", "裕固族", "京族",
    "塔塔尔族", "独龙族", "鄂伦春族", "赫哲族", "门巴族", "珞巴族", "基诺族",
)  # fmt: skip
EDUCATION = _opts("小学", "初中", "高中", "中专", "大专", "本科", "硕士", "博士", "其他")
MARRIAGE = _opts("未婚", "已婚", "离异", "丧偶", "其他")
#: Political status, as GB/T 4762 lists it.
POLITICAL_STATUS = _opts(
    "中共党员", "中共预备党员", "共青团员", "民革党员", "民盟盟员", "民建会员", "民进会员",
    "农工党党员", "致公党党员", "九三学社社员", "台盟盟员", "无党派人士", "群众",
)  # fmt: skip
RESIDENCE_TYPE = _opts("本地城镇", "本地农村", "外地城镇", "外地农村")
CONTRACT_TYPE = _opts(
    "固定期限劳动合同", "无固定期限劳动合同", "以完成一定工作任务为期限的劳动合同", "实习协议",
    "劳务合同", "返聘协议", "劳务派遣合同", "借调合同", "其他",
)  # fmt: skip
CONTRACT_PERIOD = _opts("6个月", "1年", "2年", "3年", "5年", "无固定期限", "其他")
PROBATION_PERIOD = _opts("无试用期", "1个月", "2个月", "3个月", "4个月", "5个月", "6个月", "其他")
YES_NO = _opts("有", "无")

_T, _S, _D, _P = FieldType.TEXT, FieldType.SELECT, FieldType.DATE, FieldType.PHOTO


def _group(gid: str, name: str, specs: Iterable[tuple[Any, ...]], *, detail: bool = False) -> RosterGroup:
    fields: list[RosterField] = []
    for spec in specs:
        short, label, ftype, *rest = spec
        options: tuple[RosterOption, ...] = rest[0] if rest else ()
        code = f"{gid}-{short}"
        derived = code in (
            mapping.DERIVED_DEPT_NAMES,
            mapping.DERIVED_MAIN_DEPT_NAME,
            mapping.DERIVED_MANAGER,
        )
        if code in mapping.ENUMERATIONS:
            options = _choices(mapping.ENUMERATIONS[code])
        source = (
            Source.DERIVED
            if code in (mapping.DERIVED_DEPT_NAMES, mapping.DERIVED_MAIN_DEPT_NAME)
            else Source.PROFILE
            if code in mapping.ROSTER_TO_CORE
            else Source.STORED
        )
        read_only = derived or code in mapping.ROSTER_READ_ONLY
        fields.append(RosterField(code, label, gid, ftype, source, options, derived, read_only))
    return RosterGroup(gid, name, detail, tuple(fields))


#: The system groups sys00..sys09, in the platform's order.
SYSTEM_GROUPS: tuple[RosterGroup, ...] = (
    _group(
        "sys00",
        "基本信息",
        [
            ("name", "姓名", _T),
            ("email", "邮箱", _T),
            ("deptIds", "部门id列表", _T),
            ("mainDeptId", "主部门id", _T),
            ("dept", "部门", _T),
            ("mainDept", "主部门", _T),
            ("position", "职位", _T),
            ("mobile", "手机号", _T),
            ("jobNumber", "工号", _T),
            ("tel", "分机号", _T),
            ("workPlace", "办公地点", _T),
            ("remark", "备注", _T),
            ("confirmJoinTime", "入职时间", _D),
            ("reportManager", "直属主管", _T),
        ],
    ),
    _group(
        "sys01",
        "工作信息",
        [
            ("employeeType", "员工类型", _S),
            ("employeeStatus", "员工状态", _S),
            ("probationPeriodType", "试用期", _S, PROBATION_PERIOD),
            ("regularTime", "转正日期", _D),
            ("positionLevel", "岗位职级", _T),
        ],
    ),
    _group(
        "sys02",
        "个人信息",
        [
            ("realName", "身份证姓名", _T),
            ("certNo", "证件号码", _T),
            ("birthTime", "出生日期", _D),
            ("sexType", "性别", _S),
            ("nationType", "民族", _S, ETHNIC_GROUPS),
            ("certAddress", "身份证地址", _T),
            ("certEndTime", "证件有效期", _D),
            ("marriage", "婚姻状况", _S, MARRIAGE),
            ("joinWorkingTime", "首次参加工作时间", _D),
            ("residenceType", "户籍类型", _S, RESIDENCE_TYPE),
            ("address", "住址", _T),
            ("politicalStatus", "政治面貌", _S, POLITICAL_STATUS),
        ],
    ),
    _group(
        "sys03",
        "学历信息",
        [
            ("highestEdu", "最高学历", _S, EDUCATION),
            ("graduateSchool", "毕业院校", _T),
            ("graduationTime", "毕业时间", _D),
            ("major", "所学专业", _T),
        ],
        detail=True,
    ),
    _group("sys04", "银行卡信息", [("bankAccountNo", "银行卡号", _T), ("accountBank", "开户行", _T)]),
    _group(
        "sys05",
        "合同信息",
        [
            ("contractCompanyName", "合同公司", _T),
            ("contractType", "合同类型", _S, CONTRACT_TYPE),
            ("firstContractStartTime", "首次合同起始日", _D),
            ("firstContractEndTime", "首次合同到期日", _D),
            ("nowContractStartTime", "现合同起始日", _D),
            ("nowContractEndTime", "现合同到期日", _D),
            ("contractPeriodType", "合同期限", _S, CONTRACT_PERIOD),
            ("contractRenewCount", "续签次数", _T),
        ],
    ),
    _group(
        "sys06",
        "紧急联系人",
        [
            ("urgentContactsName", "紧急联系人姓名", _T),
            ("urgentContactsRelation", "联系人关系", _T),
            ("urgentContactsPhone", "联系人电话", _T),
        ],
        detail=True,
    ),
    _group(
        "sys07",
        "家庭信息",
        [
            ("haveChild", "有无子女", _S, YES_NO),
            ("childName", "子女姓名", _T),
            ("childSex", "子女性别", _S, _choices(mapping.GENDER)),
            ("childBirthDate", "子女出生日期", _D),
        ],
        detail=True,
    ),
    _group(
        "sys08",
        "附件",
        [
            ("forntIDcard", "身份证（人像面）", _P),
            ("rearIDcard", "身份证（国徽面）", _P),
            ("academicCertificate", "学历证书", _P),
            ("diplomaCertificate", "学位证书", _P),
            ("releaseLetter", "前公司离职证明", _P),
            ("personalPhoto", "员工照片", _P),
        ],
    ),
    _group("sys09", "社保公积金", [("personalSi", "个人社保账号", _T), ("personalHf", "个人公积金账号", _T)]),
)

SYSTEM_FIELDS: Mapping[str, RosterField] = {f.code: f for g in SYSTEM_GROUPS for f in g.fields}
SYSTEM_GROUP_BY_ID: Mapping[str, RosterGroup] = {g.id: g for g in SYSTEM_GROUPS}

#: Custom attribute value types that may be written through the roster. A url (title + link) and
#: relation_depts (several departments) do not fit one roster string: they are shown, not written.
CUSTOM_WRITABLE: frozenset[ValueType] = frozenset({ValueType.TEXT, ValueType.OPTION, ValueType.RELATION_USER})


def custom_group(defs: Sequence[AttributeDefinition]) -> RosterGroup | None:
    """The custom group for the tenant's attribute definitions (``None`` when it defines none)."""
    if not defs:
        return None
    fields = tuple(
        RosterField(
            code=a.id,
            name=a.name,
            group_id=CUSTOM_GROUP_ID,
            field_type=FieldType.SELECT if a.value_type is ValueType.OPTION else FieldType.TEXT,
            source=Source.CUSTOM,
            options=tuple(RosterOption(o.key, o.name) for o in a.options),
            read_only=a.value_type not in CUSTOM_WRITABLE,
            attr=a,
        )
        for a in defs
        if a.id not in SYSTEM_FIELDS
    )
    return RosterGroup(CUSTOM_GROUP_ID, CUSTOM_GROUP_NAME, False, fields)


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Every group and field a tenant's roster has: the system groups and its custom group."""

    groups: tuple[RosterGroup, ...]
    fields: Mapping[str, RosterField]
    #: The definitions list it was built from (identity tells whether it is current).
    source: object

    def group(self, group_id: str) -> RosterGroup | None:
        for g in self.groups:
            if g.id == group_id:
                return g
        return None


_SYSTEM_ONLY = Catalogue(SYSTEM_GROUPS, SYSTEM_FIELDS, ())


def catalogue_for(defs: Sequence[AttributeDefinition]) -> Catalogue:
    custom = custom_group(defs)
    if custom is None:
        return _SYSTEM_ONLY
    return Catalogue((*SYSTEM_GROUPS, custom), {**SYSTEM_FIELDS, **{f.code: f for f in custom.fields}}, defs)


_CATALOGUES: dict[int, Catalogue] = {}


def catalogue(r: Reader, *, tenant_id: str) -> Catalogue:
    """The tenant's catalogue; built once per version of its attribute definitions."""
    defs = r.definitions(tenant_id)
    if not defs:
        return _SYSTEM_ONLY
    hit = _CATALOGUES.get(id(defs))
    if hit is None or hit.source is not defs:
        if len(_CATALOGUES) > 1000:
            _CATALOGUES.clear()
        hit = _CATALOGUES[id(defs)] = catalogue_for(defs)
    return hit


# -- reading ----------------------------------------------------------------------------------


class RosterValue(NamedTuple):
    """One value of a field: its row, the stored value, and the text shown for it."""

    row: int
    value: str
    label: str


Values = tuple[RosterValue, ...]


@dataclass(frozen=True, slots=True)
class _Links:
    """What a record needs looked up on each read: departments and other people."""

    dept_ids: tuple[int, ...]
    main_dept_id: int | None
    leader_id: str | None
    #: custom field code -> (value type, referenced ids)
    relations: tuple[tuple[str, ValueType, tuple[str, ...]], ...]
    #: Every department and person whose name the record shows.
    dept_refs: tuple[int, ...] = ()
    people_refs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RosterRecord:
    """One person as the roster sees them, without their values (see :func:`read_values`).

    ``linked`` holds the fields that show departments' and other people's
    names (``sys00-dept``, ``sys00-mainDept``, ``sys00-reportManager``, custom
    relation fields); it is the same object while none of those names change.
    """

    user: User
    catalogue: Catalogue
    linked: Mapping[str, Values]

    def get(self, code: str, values: Mapping[str, Values]) -> Values:
        """A field's values, given the person's :func:`read_values`."""
        hit = self.linked.get(code)
        return hit if hit is not None else values.get(code, ())


_MEMO = "roster"
_MEMO_LINKED = "roster.linked"


def read_records(r: Reader, *, tenant_id: str, user_ids: Sequence[str]) -> list[RosterRecord]:
    """The roster records of the existing users among ``user_ids`` (in that order, once each).

    On a warm cache this costs no query. The values are read separately, by
    :func:`read_values`, for the people a caller has not rendered yet: a
    dialect that keeps rendered replies needs them once per version of a person.
    """
    if len(user_ids) > LIST_USERS_MAX:
        raise TooMany(
            f"userid_list has {len(user_ids)} ids; the limit is {LIST_USERS_MAX}",
            field="userid_list",
            limit=LIST_USERS_MAX,
        )
    unique = list(dict.fromkeys(user_ids))
    found = r.users(tenant_id, unique)
    people = [u for uid in unique if (u := found.get(uid)) is not None]
    cat = catalogue(r, tenant_id=tenant_id)
    stale = [u for u in people if (m := u.memo.get(_MEMO)) is None or m[0] is not cat]
    if stale:
        _link(r, tenant_id, cat, stale)
    links: list[_Links] = [u.memo[_MEMO][1] for u in people]
    dept_ids = {d for x in links for d in x.dept_refs}
    people_ids = {p for x in links for p in x.people_refs}
    depts = r.depts(tenant_id, list(dept_ids)) if dept_ids else {}
    others = r.users(tenant_id, list(people_ids)) if people_ids else {}
    out: list[RosterRecord] = []
    for u, x in zip(people, links, strict=True):
        # The names shown come from these (immutable, cached) objects; while they are the
        # same objects (the same serials), the names are the same and the last read's answer holds.
        key = (serials(depts.get(i) for i in x.dept_refs), serials(others.get(p) for p in x.people_refs))
        hit = u.memo.get(_MEMO_LINKED)
        if hit is None or hit[0] != key:
            hit = u.memo[_MEMO_LINKED] = (key, _linked(x, depts, others))
        out.append(RosterRecord(u, cat, hit[1]))
    return out


def _linked(links: _Links, depts: Mapping[int, Department], others: Mapping[str, User]) -> dict[str, Values]:
    def dept_name(i: int) -> str:
        d = depts.get(i)
        return d.name if d is not None else ""

    out: dict[str, Values] = {
        mapping.DERIVED_DEPT_NAMES: tuple(
            RosterValue(0, n, n) for i in links.dept_ids if (n := dept_name(i))
        ),
    }
    main = dept_name(links.main_dept_id) if links.main_dept_id is not None else ""
    out[mapping.DERIVED_MAIN_DEPT_NAME] = (RosterValue(0, main, main),) if main else ()
    leader = others.get(links.leader_id) if links.leader_id else None
    out[mapping.DERIVED_MANAGER] = (RosterValue(0, leader.user_name, leader.user_name),) if leader else ()
    for code, vt, ids in links.relations:
        if vt is ValueType.RELATION_USER:
            names = [p.user_name for i in ids if (p := others.get(i)) is not None]
        else:
            names = [dept_name(int(i)) for i in ids]
        out[code] = (RosterValue(0, ",".join(ids), ",".join(names)),) if ids else ()
    return out


def _relation_fields(cat: Catalogue) -> dict[str, ValueType]:
    return {
        f.code: f.attr.value_type
        for f in cat.fields.values()
        if f.attr is not None and f.attr.value_type in (ValueType.RELATION_USER, ValueType.RELATION_DEPTS)
    }


def _link(r: Reader, tenant_id: str, cat: Catalogue, people: Sequence[User]) -> None:
    """Note, in each user's memo, which departments and people their record shows."""
    relation_types = _relation_fields(cat)
    ids = [u.id for u in people]
    custom = attr_rows.get_values(r.conn, tenant_id, ids, relation_types) if relation_types else {}
    for u in people:
        relations: list[tuple[str, ValueType, tuple[str, ...]]] = []
        for av in custom.get(u.id, ()):
            vt = relation_types[av.attr_id]
            raw = av.value
            if vt is ValueType.RELATION_USER and isinstance(raw, str):
                relations.append((av.attr_id, vt, (raw,)))
            elif isinstance(raw, tuple):
                relations.append((av.attr_id, vt, tuple(str(x) for x in raw)))
        dept_refs = [*u.dept_ids, *([u.def_dept_id] if u.def_dept_id is not None else [])]
        people_refs = [u.leader_id] if u.leader_id else []
        for _code, vt, refs in relations:
            if vt is ValueType.RELATION_USER:
                people_refs.extend(refs)
            else:
                dept_refs.extend(int(x) for x in refs)
        links = _Links(
            u.dept_ids,
            u.def_dept_id,
            u.leader_id,
            tuple(relations),
            tuple(dict.fromkeys(dept_refs)),
            tuple(dict.fromkeys(people_refs)),
        )
        u.memo[_MEMO] = (cat, links)


def read_values(r: Reader, *, tenant_id: str, records: Sequence[RosterRecord]) -> list[dict[str, Values]]:
    """Each record's values (profile, stored and custom fields; the linked ones are in the record).

    Two indexed queries for all of them (one range of ``roster_values`` per person).
    """
    if not records:
        return []
    ids = [rec.user.id for rec in records]
    cat = records[0].catalogue
    stored = roster_rows.get_values(r.conn, tenant_id, ids)
    types = {f.code: f.attr.value_type for f in cat.fields.values() if f.attr is not None}
    custom = attr_rows.get_values(r.conn, tenant_id, ids, types) if types else {}
    return [
        _values(rec.user, rec.catalogue, stored.get(rec.user.id, ()), custom.get(rec.user.id, ()))
        for rec in records
    ]


def _values(
    u: User,
    cat: Catalogue,
    stored: Iterable[roster_rows.StoredValue],
    custom: Iterable[AttributeValue],
) -> dict[str, Values]:
    values: dict[str, Values] = {}
    for code in mapping.ROSTER_TO_CORE:
        f = cat.fields[code]
        if f.source is not Source.PROFILE or code == mapping.DERIVED_MANAGER:
            continue
        if code == "sys00-deptIds":
            values[code] = tuple(RosterValue(0, str(d), str(d)) for d in u.dept_ids)
            continue
        v = mapping.profile_value(u, code)
        if v:
            values[code] = (RosterValue(0, v, f.label(v)),)
    rows: dict[str, dict[int, dict[str, str]]] = {}
    for sv in stored:
        rows.setdefault(sv.group_id, {}).setdefault(sv.row, {})[sv.field_code] = sv.value
    for gid, by_row in rows.items():
        group = SYSTEM_GROUP_BY_ID.get(gid)
        if group is None:
            continue
        count = max(by_row) + 1
        for f in group.fields:
            if group.detail:
                # Every row shows every field of the group, so rows line up by item_index.
                cells = [by_row.get(i, {}).get(f.code, "") for i in range(count)]
                values[f.code] = tuple(RosterValue(i, v, f.label(v)) for i, v in enumerate(cells))
            else:
                v = by_row.get(0, {}).get(f.code, "")
                if v:
                    values[f.code] = (RosterValue(0, v, f.label(v)),)
    for av in custom:
        cf = cat.fields.get(av.attr_id)
        if cf is None or cf.attr is None:
            continue
        raw = av.value
        if isinstance(raw, UrlValue):
            values[cf.code] = (RosterValue(0, raw.link, raw.title or raw.link),)
        elif isinstance(raw, str) and cf.attr.value_type is not ValueType.RELATION_USER:
            values[cf.code] = (RosterValue(0, raw, cf.label(raw)),)
    return values


# -- writing ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldWrite:
    code: str
    value: str


@dataclass(frozen=True, slots=True)
class SectionWrite:
    """One row to write: ``old_index`` names an existing row (only the fields sent change);
    without it the section is a new row of a detail group (fields not sent are empty)."""

    fields: tuple[FieldWrite, ...]
    old_index: int | None = None


@dataclass(frozen=True, slots=True)
class GroupWrite:
    group_id: str
    sections: tuple[SectionWrite, ...]


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def update(
    d: Directory, *, tenant_id: str, user_id: str, groups: Sequence[GroupWrite], prefix: str = ""
) -> None:
    """Write some of one person's roster, all or nothing (see :func:`update_in`)."""
    with d.writer() as tx:
        update_in(tx, d, tenant_id=tenant_id, user_id=user_id, groups=groups, prefix=prefix)


def update_in(
    tx: WriteTx,
    d: Directory,
    *,
    tenant_id: str,
    user_id: str,
    groups: Sequence[GroupWrite],
    prefix: str = "",
) -> None:
    """Write some of one person's roster inside an open transaction.

    Every group, row, field and value is checked before anything is written;
    errors name the item (``{prefix}groups[0].sections[1].section[2].value``).
    On a detail group, ``old_index`` names the row to edit (only the fields
    sent change); without it, or naming the next row (the number of rows),
    the section adds a row and the fields it does not send are empty. A plain
    group has exactly one row: a section on it edits that row, with or
    without ``old_index: 0`` (some clients drop a zero ``old_index``).
    ``sys00-mainDeptId`` set to a department the person is not in has no
    effect, as on the platform.
    """
    if not user_id:
        raise MissingField(f"{prefix}userid is required", field=f"{prefix}userid")
    if not roster_rows.lock_user(tx.conn, tenant_id, user_id):
        raise NotFound(f"{prefix}userid: user {user_id!r} does not exist", field=f"{prefix}userid")
    if not groups:
        raise MissingField(f"{prefix}groups must hold at least one group", field=f"{prefix}groups")
    _limit(len(groups), UPDATE_GROUPS_MAX, f"{prefix}groups", "groups")
    current = user_rows.get_users(tx.conn, tenant_id, [user_id])[user_id]
    cat = catalogue_for(attr_rows.list_definitions(tx.conn, tenant_id))
    detail_ids = [g.group_id for g in groups if (cg := cat.group(g.group_id)) is not None and cg.detail]
    counts = roster_rows.row_counts(tx.conn, tenant_id, user_id, detail_ids)
    stored: list[roster_rows.StoredValue] = []
    profile: dict[str, object] = {}
    custom: dict[str, AttributeUpdate] = {}
    profile_paths: dict[str, tuple[str, str]] = {}
    relations: dict[str, str] = {}
    for gi, g in enumerate(groups):
        gp = f"{prefix}groups[{gi}]"
        group = cat.group(g.group_id)
        if group is None:
            raise InvalidValue(f"{gp}.group_id: no roster group {g.group_id!r}", field=f"{gp}.group_id")
        if not g.sections:
            raise MissingField(f"{gp}.sections must hold at least one section", field=f"{gp}.sections")
        _limit(len(g.sections), UPDATE_SECTIONS_MAX, f"{gp}.sections", "sections")
        for si, s in enumerate(g.sections):
            sp = f"{gp}.sections[{si}]"
            row, appended = _target_row(group, s.old_index, counts, field=f"{sp}.old_index")
            if not s.fields:
                raise MissingField(f"{sp}.section must hold at least one field", field=f"{sp}.section")
            _limit(len(s.fields), UPDATE_FIELDS_MAX, f"{sp}.section", "fields")
            sent: dict[str, str] = {}
            for fi, fw in enumerate(s.fields):
                fp = f"{sp}.section[{fi}]"
                f = cat.fields.get(fw.code)
                if f is None or f.group_id != group.id:
                    raise InvalidValue(
                        f"{fp}.field_code: {fw.code!r} is not a field of group {group.id!r}",
                        field=f"{fp}.field_code",
                    )
                if f.read_only:
                    raise InvalidValue(
                        f"{fp}.field_code: {fw.code!r} ({f.name}) cannot be updated through the roster",
                        field=f"{fp}.field_code",
                    )
                if fw.code in sent:
                    raise InvalidValue(
                        f"{fp}.field_code: {fw.code!r} appears twice in one section", field=f"{fp}.field_code"
                    )
                value = sent[fw.code] = _checked(f, fw.value, field=f"{fp}.value")
                if f.source is Source.PROFILE:
                    core = _profile_change(profile, current, f, value)
                    if core is not None:
                        profile_paths[core] = (f"{fp}.value", f.code)
                elif f.source is Source.CUSTOM and f.attr is not None:
                    if f.attr.value_type is ValueType.RELATION_USER and value:
                        relations[f"{fp}.value"] = value
                    custom[f.code] = _attribute_update(f.attr, value)
            for f in group.fields:
                if f.source is not Source.STORED:
                    continue
                if f.code in sent:
                    stored.append(roster_rows.StoredValue(group.id, row, f.code, sent[f.code]))
                elif appended:
                    stored.append(roster_rows.StoredValue(group.id, row, f.code, ""))
    known = user_rows.existing_ids(tx.conn, tenant_id, relations.values())
    for where, ref in relations.items():
        if ref not in known:
            raise BrokenReference(f"{where}: user {ref!r} does not exist", field=where)
    if profile:
        try:
            users.update_in(tx, d, tenant_id=tenant_id, user_id=user_id, changes=profile)
        except CoreError as exc:
            raise _located(exc, profile_paths) from None
    if custom:
        attributes.update_values_in(
            tx,
            tenant_id=tenant_id,
            updates=[UserAttributeUpdate(user_id=user_id, attrs=tuple(custom.values()))],
        )
    roster_rows.put_values(tx.conn, tenant_id, [(user_id, v) for v in _last_wins(stored)])
    tx.changed(tenant_id, "user", user_id)


def load_in(tx: WriteTx, *, tenant_id: str, records: Mapping[str, Sequence[GroupWrite]]) -> int:
    """Give people with no roster yet their roster values (seeds, the demo company, benchmarks).

    Only stored fields (not profile, custom or read-only ones); every section
    is a new row of its group, in order (a plain group takes one section).
    Values are checked as :func:`update_in` checks them; nothing is written
    if any is wrong. Returns how many values were written.
    """
    present = user_rows.existing_ids(tx.conn, tenant_id, records)
    items: list[tuple[str, roster_rows.StoredValue]] = []
    for uid, groups in records.items():
        p = f"records[{uid!r}]"
        if uid not in present:
            raise NotFound(f"{p}: user {uid!r} does not exist", field=p)
        for gi, g in enumerate(groups):
            group = SYSTEM_GROUP_BY_ID.get(g.group_id)
            if group is None:
                raise InvalidValue(f"{p}.groups[{gi}].group_id: no system group {g.group_id!r}", field=p)
            if not group.detail and len(g.sections) > 1:
                raise InvalidValue(f"{p}.groups[{gi}]: group {group.id!r} has exactly one row", field=p)
            for row, s in enumerate(g.sections):
                sent = {}
                for fi, fw in enumerate(s.fields):
                    where = f"{p}.groups[{gi}].sections[{row}].section[{fi}]"
                    f = SYSTEM_FIELDS.get(fw.code)
                    if f is None or f.group_id != group.id or f.source is not Source.STORED:
                        raise InvalidValue(
                            f"{where}.field_code: {fw.code!r} is not a stored field of {group.id}",
                            field=where,
                        )
                    sent[f.code] = _checked(f, fw.value, field=f"{where}.value")
                for f in group.fields:
                    if f.source is Source.STORED and (group.detail or f.code in sent):
                        items.append(
                            (uid, roster_rows.StoredValue(group.id, row, f.code, sent.get(f.code, "")))
                        )
        tx.changed(tenant_id, "user", uid)
    roster_rows.put_values(tx.conn, tenant_id, items)
    return len(items)


def _last_wins(items: Sequence[roster_rows.StoredValue]) -> list[roster_rows.StoredValue]:
    out: dict[tuple[str, int, str], roster_rows.StoredValue] = {}
    for v in items:
        out[(v.group_id, v.row, v.field_code)] = v
    return list(out.values())


def _limit(count: int, limit: int, where: str, what: str) -> None:
    if count > limit:
        raise TooMany(f"{where} has {count} {what}; the limit is {limit}", field=where, limit=limit)


def _target_row(
    group: RosterGroup, old_index: int | None, counts: dict[str, int], *, field: str
) -> tuple[int, bool]:
    """``(row, is_new)``: the row a section writes, and whether it adds that row."""
    if not group.detail:
        if old_index not in (None, 0):
            raise InvalidValue(
                f"{field}: group {group.id!r} has exactly one row (0), not {old_index}", field=field
            )
        return 0, False
    have = counts.get(group.id, 0)
    if old_index is not None and (old_index < 0 or old_index > have):
        raise InvalidValue(
            f"{field}: group {group.id!r} has no row {old_index} (the person has {have} row(s); "
            "leave old_index out, or give the next row number, to add a row)",
            field=field,
        )
    if old_index is not None and old_index < have:
        return old_index, False
    if have >= DETAIL_ROWS_MAX:
        raise TooMany(
            f"{field}: group {group.id!r} already holds {have} rows; the limit is {DETAIL_ROWS_MAX}",
            field=field,
            limit=DETAIL_ROWS_MAX,
        )
    counts[group.id] = have + 1
    return have, True


def _checked(f: RosterField, raw: str, *, field: str) -> str:
    """The value to store for ``raw``; ``""`` clears the field."""
    value = raw.strip()
    if value == "":
        return ""
    if f.field_type is FieldType.SELECT:
        if not f.has_option(value):
            allowed = ", ".join(o.value for o in f.options[:60])
            raise InvalidValue(
                f"{field}: {raw!r} is not an option of {f.code} ({f.name}); options: {allowed}", field=field
            )
        return value
    if f.field_type in (FieldType.DATE, FieldType.DATE_WITH_LONG):
        if not _DATE.match(value) or not _is_date(value):
            raise InvalidValue(f"{field}: {raw!r} is not a date in yyyy-MM-dd form", field=field)
        return value
    if f.field_type is FieldType.PHOTO:
        parts = urlsplit(value)
        if len(value) > PHOTO_URL_MAX or parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidValue(
                f"{field}: a photo field holds an http(s) URL of at most {PHOTO_URL_MAX} characters",
                field=field,
            )
        return value
    checked = validate.text(value, field=field, max_len=TEXT_MAX)
    return checked or ""


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _profile_change(changes: dict[str, object], current: User, f: RosterField, value: str) -> str | None:
    """Record the core change a profile field's value makes; returns the core field (``None``: no change)."""
    core = mapping.ROSTER_TO_CORE[f.code]
    if f.code in mapping.ENUMERATIONS:
        mapped = mapping.to_core(mapping.ENUMERATIONS[f.code], value)
        changes[core] = mapped or ("undefined" if core == "gender" else "")
        return core
    if core == "def_dept_id":
        # As on the platform: a department the person is not in changes nothing.
        if not (value.isascii() and value.isdigit() and int(value) in current.dept_ids):
            return None
        changes[core] = int(value)
        return core
    changes[core] = value
    return core


def _located(exc: CoreError, paths: Mapping[str, tuple[str, str]]) -> CoreError:
    """``exc`` (about a core user field) re-addressed to the item that set the field.

    ``paths`` maps a core field to ``(where, name)``: the item's path and the
    name the caller knows the field by, which replaces the core field's name
    at the start of the message.
    """
    hit = paths.get(exc.field or "")
    if hit is None or isinstance(exc, TooMany):
        return exc
    where, name = hit
    detail = exc.message
    if exc.field and detail.startswith(exc.field):
        detail = name + detail[len(exc.field) :]
    try:
        return type(exc)(f"{where}: {detail}", field=where)
    except TypeError:  # pragma: no cover - an error class with other arguments
        return exc


def _attribute_update(a: AttributeDefinition, value: str) -> AttributeUpdate:
    if a.value_type is ValueType.OPTION:
        return AttributeUpdate(attr_id=a.id, option=value)
    if a.value_type is ValueType.RELATION_USER:
        return AttributeUpdate(attr_id=a.id, relation_user=value)
    return AttributeUpdate(attr_id=a.id, text=value)


# -- employee lists ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmployeePage:
    user_ids: list[str]
    #: The offset of the next page; ``None`` on the last page.
    next_offset: int | None


def list_employees(
    r: Reader,
    *,
    tenant_id: str,
    kind: mapping.EmployeeList,
    employment_statuses: Sequence[str] | None = None,
    offset: int,
    size: int,
) -> EmployeePage:
    """One page of the on-job, pre-entry or dismission list, in user id order.

    ``employment_statuses`` (on-job only) are ``sys01-employeeStatus`` option
    values (``"2"`` probation, ``"3"`` regular, ``"5"`` leaving, ``"-1"`` none).
    """
    if offset < 0:
        raise InvalidValue("offset must be zero or positive", field="offset")
    if size < 1 or size > PAGE_SIZE_MAX:
        raise InvalidValue(f"size must be between 1 and {PAGE_SIZE_MAX}", field="size")
    wanted: list[str | None] | None = None
    if employment_statuses is not None:
        wanted = []
        for i, code in enumerate(employment_statuses):
            try:
                wanted.append(mapping.to_core(mapping.EMPLOYMENT_STATUS, code))
            except KeyError:
                allowed = ", ".join(c.value for c in mapping.EMPLOYMENT_STATUS)
                raise InvalidValue(
                    f"status_list[{i}]: {code!r} is not an employee status ({allowed})", field="status_list"
                ) from None
    ids = roster_rows.page_user_ids(
        r.conn,
        tenant_id,
        statuses=[s.value for s in mapping.LIST_STATUSES[kind]],
        employment_statuses=wanted,
        offset=offset,
        limit=size + 1,
    )
    more = len(ids) > size
    return EmployeePage(ids[:size], offset + size if more else None)


@dataclass(frozen=True, slots=True)
class PreEntry:
    """A person to be hired (``addpreentry``)."""

    name: str
    mobile: str
    pre_entry_date: str | None = None
    dept_ids: tuple[int, ...] = ()
    main_dept_id: int | None = None
    position: str | None = None
    work_place: str | None = None
    job_number: str | None = None
    employee_type: str | None = None


def add_pre_entry(d: Directory, *, tenant_id: str, item: PreEntry, prefix: str = "") -> User:
    """Create a pre-hire: a user in the pre-entry list (WPS status ``notactive``)."""
    if not item.mobile.strip():
        raise MissingField(f"{prefix}mobile is required", field=f"{prefix}mobile")
    employment_type = None
    if item.employee_type not in (None, ""):
        try:
            employment_type = mapping.to_core(mapping.EMPLOYMENT_TYPE, str(item.employee_type))
        except KeyError:
            raise InvalidValue(
                f"{prefix}extend_info.employeeType: {item.employee_type!r} is not an employee type "
                f"({', '.join(c.value for c in mapping.EMPLOYMENT_TYPE)})",
                field=f"{prefix}extend_info.employeeType",
            ) from None
    joined = (item.pre_entry_date or "").strip()[:10]
    if joined and (not _DATE.match(joined) or not _is_date(joined)):
        raise InvalidValue(
            f"{prefix}pre_entry_time: {item.pre_entry_date!r} is not a date (yyyy-MM-dd [HH:mm:ss])",
            field=f"{prefix}pre_entry_time",
        )
    dept_ids = item.dept_ids or (item.main_dept_id or 1,)
    main = item.main_dept_id if item.main_dept_id in dept_ids else dept_ids[0]
    new = users.NewUser(
        user_name=item.name,
        dept_ids=dept_ids,
        def_dept_id=main,
        phone=item.mobile,
        title=item.position,
        work_place=item.work_place,
        employee_id=item.job_number,
        employment_type=employment_type,
        status="notactive",
    )
    wire = {
        "user_name": "name",
        "phone": "mobile",
        "dept_ids": "extend_info.depts",
        "def_dept_id": "extend_info.mainDeptId",
        "title": "extend_info.position",
        "work_place": "extend_info.workPlace",
        "employee_id": "extend_info.jobNumber",
    }
    paths = {core: (f"{prefix}{name}", name.rsplit(".", 1)[-1]) for core, name in wire.items()}
    with d.writer() as tx:
        try:
            created = users.create_in(tx, d, tenant_id=tenant_id, items=[new], field_prefix="")[0]
        except CoreError as exc:
            raise _located(exc, paths) from None
        if joined:
            roster_rows.put_values(
                tx.conn,
                tenant_id,
                [(created.id, roster_rows.StoredValue("sys00", 0, "sys00-confirmJoinTime", joined))],
            )
    return created
