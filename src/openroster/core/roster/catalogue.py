"""The HR roster's field catalogue: its groups and fields, their types and options.

The roster is a set of **groups** of **fields**. A plain group holds one row
per person; a **detail** group (education, emergency contacts, family) holds
any number of rows, numbered from 0. A field's value is always a string: text
as is, a date as ``yyyy-MM-dd``, a select field the option's ``value``.

Where a field's value lives:

- *profile* fields mirror a user column (name, mobile, position, gender, ...;
  see ``core/roster/profile.py``): the roster and the WPS dialect read and write the
  same column, through :func:`openroster.core.people.users.update_in`;
- *stored* fields (ID data, education rows, contracts, ...) live in the
  ``roster_values`` table, one row per person, group, row and field, so two
  writers of different fields of one person never overwrite each other;
- the tenant's custom attributes form one *custom* group (field code =
  attribute id), read from and written through ``core/custom/attributes.py``;
- *derived* fields (department names, the manager's name) are computed.

Reads are in ``records.py``, writes in ``writes.py``, the employee lists and
pre-hires in ``employees.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from openroster.core.directory import Reader
from openroster.core.roster import profile as roster_profile
from openroster.core.roster.profile import Choice
from openroster.model.entities import (
    AttributeDefinition,
    FieldOption,
    ValueType,
)

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
    """What a field holds (each dialect names the types its own way)."""

    TEXT = "text"
    SELECT = "select"
    DATE = "date"
    #: A date the platform also gives as epoch milliseconds.
    DATE_WITH_LONG = "date_with_long"
    PHOTO = "photo"


class Source(StrEnum):
    PROFILE = "profile"
    STORED = "stored"
    CUSTOM = "custom"
    DERIVED = "derived"


@dataclass(frozen=True, slots=True)
class RosterField:
    code: str
    name: str
    group_id: str
    field_type: FieldType
    source: Source
    options: tuple[Choice, ...] = ()
    #: Computed from other fields (the platform's ``derived`` flag).
    derived: bool = False
    #: Shown, never written through the roster (a write is a parameter error).
    read_only: bool = False
    #: The custom attribute behind a custom field.
    attr: AttributeDefinition | None = None
    #: Options the tenant deleted: values that hold one still read with its label; not offered,
    #: not accepted on a write.
    deleted: tuple[Choice, ...] = ()
    _labels: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    _live: set[str] = field(default_factory=set, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._labels.update((o.value, o.label) for o in self.deleted)
        self._labels.update((o.value, o.label) for o in self.options)
        self._live.update(o.value for o in self.options)

    def has_option(self, value: str) -> bool:
        return value in self._live

    def was_option(self, value: str) -> bool:
        """Whether ``value`` is an option the tenant deleted."""
        return value in self._labels and value not in self._live

    def choices_for(self, value: str | None) -> tuple[Choice, ...]:
        """The options a form offers for a stored ``value``: the live ones, and the deleted option
        ``value`` holds, if it holds one (so that sending the form back unchanged keeps it)."""
        if value and self.was_option(value):
            return (*self.options, *(o for o in self.deleted if o.value == value))
        return self.options

    def label(self, value: str) -> str:
        """The display text of ``value``: the option's label for select fields, else the value."""
        return self._labels.get(value, value) if self._labels else value

    @property
    def options_editable(self) -> bool:
        """Whether the tenant may change the field's options (``core/roster/options.py``): a select
        field the roster itself keeps; the options of a profile field are the user's own enumerations."""
        return self.source is Source.STORED and self.field_type is FieldType.SELECT and bool(self.options)

    def with_options(self, stored: Sequence[FieldOption]) -> RosterField:
        """This field with the tenant's options (``stored``: all of them, deleted ones included)."""
        return replace(
            self,
            options=tuple(Choice(o.value, o.label) for o in stored if not o.deleted),
            deleted=tuple(Choice(o.value, o.label) for o in stored if o.deleted),
            _labels={},
            _live=set(),
        )


@dataclass(frozen=True, slots=True)
class RosterGroup:
    id: str
    name: str
    detail: bool
    fields: tuple[RosterField, ...]


def _opts(*labels: str, start: int = 1) -> tuple[Choice, ...]:
    return tuple(Choice(str(i), label) for i, label in enumerate(labels, start=start))


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
        options: tuple[Choice, ...] = rest[0] if rest else ()
        code = f"{gid}-{short}"
        derived = code in (
            roster_profile.DERIVED_DEPT_NAMES,
            roster_profile.DERIVED_MAIN_DEPT_NAME,
            roster_profile.DERIVED_MANAGER,
        )
        if code in roster_profile.ENUMERATIONS:
            options = roster_profile.ENUMERATIONS[code]
        source = (
            Source.DERIVED
            if code in (roster_profile.DERIVED_DEPT_NAMES, roster_profile.DERIVED_MAIN_DEPT_NAME)
            else Source.PROFILE
            if code in roster_profile.ROSTER_TO_CORE
            else Source.STORED
        )
        read_only = derived or code in roster_profile.ROSTER_READ_ONLY
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
            ("childSex", "子女性别", _S, roster_profile.GENDER),
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
            options=tuple(Choice(o.key, o.name) for o in a.options),
            read_only=a.value_type not in CUSTOM_WRITABLE,
            attr=a,
        )
        for a in defs
        if a.id not in SYSTEM_FIELDS
    )
    return RosterGroup(CUSTOM_GROUP_ID, CUSTOM_GROUP_NAME, False, fields)


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Every group and field a tenant's roster has: the system groups (with the options the tenant
    gave its select fields) and its custom group."""

    groups: tuple[RosterGroup, ...]
    fields: Mapping[str, RosterField]
    #: The definitions list and the options mapping it was built from (identity tells whether it
    #: is current).
    source: tuple[object, object]

    def group(self, group_id: str) -> RosterGroup | None:
        for g in self.groups:
            if g.id == group_id:
                return g
        return None


_NO_OPTIONS: Mapping[str, tuple[FieldOption, ...]] = {}
_SYSTEM_ONLY = Catalogue(SYSTEM_GROUPS, SYSTEM_FIELDS, ((), _NO_OPTIONS))


def _system_groups(options: Mapping[str, Sequence[FieldOption]]) -> tuple[RosterGroup, ...]:
    """The system groups with the tenant's options in place of the catalogue's own."""
    if not options:
        return SYSTEM_GROUPS
    return tuple(
        replace(
            g,
            fields=tuple(
                f.with_options(options[f.code]) if f.code in options and f.options_editable else f
                for f in g.fields
            ),
        )
        for g in SYSTEM_GROUPS
    )


def catalogue_for(
    defs: Sequence[AttributeDefinition], options: Mapping[str, Sequence[FieldOption]] = _NO_OPTIONS
) -> Catalogue:
    """The catalogue of a tenant with attribute definitions ``defs`` and select options ``options``
    (``store/roster.list_field_options``: the fields whose options it changed)."""
    custom = custom_group(defs)
    if custom is None and not options:
        return _SYSTEM_ONLY
    groups = _system_groups(options)
    fields = {f.code: f for g in groups for f in g.fields}
    if custom is not None:
        groups = (*groups, custom)
        fields.update((f.code, f) for f in custom.fields)
    return Catalogue(groups, fields, (defs, options))


_CATALOGUES: dict[tuple[int, int], Catalogue] = {}


def catalogue(r: Reader, *, tenant_id: str) -> Catalogue:
    """The tenant's catalogue; built once per version of its attribute definitions and options."""
    defs = r.definitions(tenant_id)
    options = r.field_options(tenant_id)
    if not defs and not options:
        return _SYSTEM_ONLY
    key = (id(defs), id(options))
    hit = _CATALOGUES.get(key)
    if hit is None or hit.source[0] is not defs or hit.source[1] is not options:
        if len(_CATALOGUES) > 1000:
            _CATALOGUES.clear()
        hit = _CATALOGUES[key] = catalogue_for(defs, options)
    return hit
