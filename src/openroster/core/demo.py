"""The demo company: a deterministic tenant with people, departments and attributes.

Everything is written through the core services, exactly as an API client's
writes are. Loading is idempotent: an existing demo tenant is left as it is
(only missing demo apps are added).

A company of more than ``LARGE_COMPANY_MIN`` people (``openroster demo --users
1000000``) is generated as a stream and written with ``core/bulk.py`` in one
transaction: the same rules, a million people in well under three minutes. It
has a deeper department tree (about one team per 60 people) and sparser
attribute values.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from openroster.core import apps, attributes, bulk, demo_roster, tenants, users
from openroster.core import depts as dept_service
from openroster.core.directory import Directory
from openroster.model.entities import AttributeUpdate, Department, Signing, UserAttributeUpdate
from openroster.store.base import WriteTx

T = TypeVar("T")

DEMO_TENANT = "demo"
DEMO_COMPANY = "示例科技有限公司"

WPS_ALL_SCOPES: tuple[str, ...] = (
    "kso.contact.read",
    "kso.contact.readwrite",
    "kso.user_email.read",
    "kso.user_phone.read",
    "kso.user_gender.read",
    "kso.user_custom_attr.read",
    "kso.user_custom_attr.readwrite",
)

#: Every DingTalk permission the DingTalk dialect knows (roster read / write, members, departments).
DINGTALK_ALL_PERMISSIONS: tuple[str, ...] = (
    "qyapi_hrm_read_user",
    "qyapi_hrm_manager",
    "qyapi_get_member",
    "qyapi_get_department_list",
)


@dataclass(frozen=True, slots=True)
class DemoApp:
    client_id: str
    secret: str
    signing: Signing
    scopes: tuple[str, ...]
    note: str
    agentid: int | None = None


DEMO_APPS: tuple[DemoApp, ...] = (
    DemoApp(
        "demo-wps", "demo-wps-secret", Signing.KSO1, WPS_ALL_SCOPES, "KSO-1 signing, every contacts scope"
    ),
    DemoApp(
        "demo-wps4", "demo-wps4-secret", Signing.WPS4, WPS_ALL_SCOPES, "WPS-4 signing, every contacts scope"
    ),
    DemoApp(
        "demo-wps-nosign",
        "demo-wps-nosign-secret",
        Signing.NONE,
        ("kso.contact.read",),
        "no signing, kso.contact.read only (no field scopes)",
    ),
    DemoApp(
        "demo-dingtalk",
        "demo-dingtalk-secret",
        Signing.NONE,
        DINGTALK_ALL_PERMISSIONS,
        "DingTalk app, agentid 1000001, every roster and contacts permission",
        agentid=1000001,
    ),
)

# (surname, pinyin)
_SURNAMES = [
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("高", "gao"),
    ("林", "lin"),
    ("罗", "luo"),
    ("郑", "zheng"),
    ("梁", "liang"),
    ("谢", "xie"),
    ("宋", "song"),
    ("唐", "tang"),
    ("许", "xu"),
    ("韩", "han"),
    ("冯", "feng"),
    ("邓", "deng"),
    ("曹", "cao"),
    ("彭", "peng"),
    ("曾", "zeng"),
    ("肖", "xiao"),
    ("田", "tian"),
    ("董", "dong"),
    ("袁", "yuan"),
    ("潘", "pan"),
    ("于", "yu"),
    ("蒋", "jiang"),
    ("蔡", "cai"),
    ("余", "yu"),
    ("杜", "du"),
    ("叶", "ye"),
    ("程", "cheng"),
    ("苏", "su"),
    ("魏", "wei"),
    ("吕", "lv"),
    ("丁", "ding"),
    ("任", "ren"),
    ("沈", "shen"),
    ("欧阳", "ouyang"),
    ("司马", "sima"),
]
_GIVEN_MALE = [
    ("伟", "wei"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("杰", "jie"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("刚", "gang"),
    ("平", "ping"),
    ("辉", "hui"),
    ("鹏", "peng"),
    ("浩", "hao"),
    ("宇", "yu"),
    ("俊", "jun"),
    ("晨", "chen"),
    ("博", "bo"),
    ("翔", "xiang"),
    ("志", "zhi"),
    ("建", "jian"),
    ("国", "guo"),
    ("文", "wen"),
    ("斌", "bin"),
    ("凯", "kai"),
    ("子", "zi"),
    ("天", "tian"),
]
_GIVEN_FEMALE = [
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("艳", "yan"),
    ("娟", "juan"),
    ("霞", "xia"),
    ("婷", "ting"),
    ("雪", "xue"),
    ("慧", "hui"),
    ("颖", "ying"),
    ("琳", "lin"),
    ("倩", "qian"),
    ("玲", "ling"),
    ("欣", "xin"),
    ("怡", "yi"),
    ("佳", "jia"),
    ("梦", "meng"),
    ("雨", "yu"),
    ("晓", "xiao"),
    ("思", "si"),
    ("嘉", "jia"),
    ("悦", "yue"),
    ("诗", "shi"),
    ("萱", "xuan"),
    ("瑶", "yao"),
    ("彤", "tong"),
]

# The department tree below the root, as paths. Four levels deep in places.
DEMO_DEPARTMENTS: tuple[str, ...] = (
    "研发中心",
    "研发中心/平台组",
    "研发中心/前端组",
    "研发中心/后端组",
    "研发中心/测试组",
    "研发中心/基础架构组",
    "研发中心/基础架构组/数据库小组",
    "产品部",
    "产品部/用户体验组",
    "市场部",
    "市场部/品牌组",
    "销售部",
    "销售部/华北区",
    "销售部/华东区",
    "销售部/华东区/上海办",
    "销售部/华东区/杭州办",
    "销售部/华南区",
    "人力资源部",
    "财务部",
    "运营中心",
    "运营中心/客户成功组",
)

_TITLES = {
    "研发中心": ["软件工程师", "高级软件工程师", "资深工程师", "技术专家", "架构师"],
    "产品部": ["产品经理", "高级产品经理", "交互设计师", "视觉设计师"],
    "市场部": ["市场专员", "品牌经理", "市场经理"],
    "销售部": ["销售代表", "客户经理", "大客户经理", "区域经理"],
    "人力资源部": ["招聘专员", "HRBP", "薪酬福利专员"],
    "财务部": ["会计", "出纳", "财务分析师"],
    "运营中心": ["运营专员", "客户成功经理", "数据运营"],
}
_OFFICES = [
    ("北京", "北京市海淀区中关村软件园 2 号楼"),
    ("上海", "上海市浦东新区张江高科园区 8 号楼"),
    ("杭州", "杭州市西湖区文三路 90 号"),
    ("深圳", "深圳市南山区科技园南区 1 栋"),
]
_EMPLOYERS = ["示例科技有限公司", "示例科技（上海）有限公司"]


DEMO_ATTRIBUTES: tuple[attributes.NewDefinition, ...] = (
    attributes.NewDefinition(id="attr-desk", name="工位", value_type="text"),
    attributes.NewDefinition(
        id="attr-level",
        name="职级",
        value_type="option",
        options=tuple((f"P{n}", f"P{n} 级") for n in range(1, 10)),
    ),
    attributes.NewDefinition(id="attr-homepage", name="个人主页", value_type="url"),
    attributes.NewDefinition(id="attr-mentor", name="导师", value_type="relation_user"),
    attributes.NewDefinition(id="attr-partners", name="协作部门", value_type="relation_depts"),
)

#: Above this many people the demo company is generated in bulk (see the module doc).
LARGE_COMPANY_MIN = 5_000


def _name(rng: random.Random) -> tuple[str, str, str]:
    surname, s_py = rng.choice(_SURNAMES)
    gender = rng.choice(("male", "female"))
    pool = _GIVEN_MALE if gender == "male" else _GIVEN_FEMALE
    parts = [rng.choice(pool) for _ in range(rng.choice((1, 2)))]
    return surname + "".join(p[0] for p in parts), s_py + "".join(p[1] for p in parts), gender


def load(
    d: Directory,
    *,
    users_count: int = 500,
    tenant_id: str = DEMO_TENANT,
    progress: Callable[[int], None] | None = None,
) -> bool:
    """Create the demo tenant unless it exists. Returns whether anything was created."""
    created = False
    if tenants.find(d, tenant_id) is None:
        build = _build_large if users_count > LARGE_COMPANY_MIN else _build
        build(d, tenant_id=tenant_id, users_count=users_count, progress=progress)
        created = True
    existing = {a.client_id for a in apps.list_for_tenant(d, tenant_id)}
    for a in DEMO_APPS:
        if a.client_id not in existing:
            with d.reader() as r:
                taken = r.app(a.client_id) is not None
            if not taken:
                apps.create(
                    d,
                    tenant_id=tenant_id,
                    name=a.client_id,
                    scopes=a.scopes,
                    signing=a.signing,
                    client_id=a.client_id,
                    secret=a.secret,
                    agentid=a.agentid,
                )
                created = True
    if demo_roster.load(d, tenant_id=tenant_id):
        created = True
    return created


def _build(d: Directory, *, tenant_id: str, users_count: int, progress: Callable[[int], None] | None) -> None:
    rng = random.Random(20261121)  # deterministic: the same company every time
    # One transaction: a load that is interrupted (Ctrl-C, kill) leaves nothing
    # behind, so the next start builds the whole company instead of skipping a
    # half-built one.
    with d.writer() as tx:
        tenants.create_in(tx, tenants.build(d, tenant_id=tenant_id, name=DEMO_COMPANY))
        by_path = {
            path: dept_service.ensure_path(tx, d, tenant_id=tenant_id, names=path.split("/"))
            for path in DEMO_DEPARTMENTS
        }
        people = _people(rng, by_path, users_count)
        chunk = 1000
        for start in range(0, len(people), chunk):
            users.create_in(tx, d, tenant_id=tenant_id, items=people[start : start + chunk])
            if progress is not None:
                progress(min(start + chunk, len(people)))
        _attributes(tx, d, tenant_id=tenant_id, people=people, depts=list(by_path.values()), rng=rng)


def _people(rng: random.Random, by_path: dict[str, Department], users_count: int) -> list[users.NewUser]:
    leaves = [p for p in DEMO_DEPARTMENTS if not any(q.startswith(p + "/") for q in DEMO_DEPARTMENTS)]
    leaders: dict[str, str] = {}
    people: list[users.NewUser] = []
    used_logins: set[str] = set()
    head: str | None = None  # the head of the company, whom the heads of the top departments report to
    for i in range(users_count):
        name, pinyin, gender = _name(rng)
        login = pinyin
        n = 1
        while login in used_logins:
            n += 1
            login = f"{pinyin}{n}"
        used_logins.add(login)
        path = DEMO_DEPARTMENTS[i] if i < len(DEMO_DEPARTMENTS) else rng.choice(leaves)
        top = path.split("/")[0]
        dept = by_path[path]
        city, office = rng.choice(_OFFICES)
        is_leader = path not in leaders
        uid = f"{rng.getrandbits(40):010x}"
        head = head or uid
        if is_leader:
            leaders[path] = uid
        parent_path = path.rsplit("/", 1)[0] if "/" in path else None
        if not is_leader:
            leader_id: str | None = leaders[path]
        elif parent_path:
            leader_id = leaders.get(parent_path)
        else:
            leader_id = head if head != uid else None
        extra_dept = by_path[rng.choice(leaves)].id if rng.random() < 0.08 else None
        dept_ids = (dept.id,) if extra_dept in (None, dept.id) else (dept.id, extra_dept)
        status = "active"
        roll = rng.random()
        if i >= 10:
            status = (
                "notactive"
                if roll < 0.04
                else "disabled"
                if roll < 0.07
                else "dimission"
                if roll < 0.10
                else status
            )
        people.append(
            users.NewUser(
                id=uid,
                user_name=name,
                dept_ids=dept_ids,
                def_dept_id=dept.id,
                email=f"{login}@demo.openroster.dev",
                phone=f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
                gender=gender,
                employee_id=f"E{i + 1:06d}",
                employer=rng.choice(_EMPLOYERS),
                employment_status="probationary" if rng.random() < 0.12 else "regular",
                employment_type="intern" if rng.random() < 0.08 else "permanent",
                ex_user_id=f"hr-{i + 1:06d}",
                leader_id=leader_id,
                login_name=login,
                role="super-admin" if i == 0 else "admin" if i < 3 else "normal",
                status=status,
                title=("总经理" if i == 0 else "负责人" if is_leader else rng.choice(_TITLES[top])),
                telephone=f"0{rng.choice(['10', '21', '571', '755'])}-{rng.randrange(10**7, 10**8)}",
                work_place=office,
                city=city,
                country="中国",
                avatar=f"https://avatars.demo.openroster.dev/{uid}.png",
                leader_of=(dept.id,) if is_leader else (),
            )
        )
    return people


def _attributes(
    tx: WriteTx,
    d: Directory,
    *,
    tenant_id: str,
    people: Sequence[users.NewUser],
    depts: Sequence[Department],
    rng: random.Random,
) -> None:
    defs = attributes.create_definitions_in(tx, d, tenant_id=tenant_id, items=DEMO_ATTRIBUTES)
    desk, level, homepage, mentor, partners = (a.id for a in defs)
    updates: list[UserAttributeUpdate] = []
    for i, p in enumerate(people):
        assert p.id is not None
        floor = rng.randrange(2, 20)
        other = rng.choice(people)
        if other is p:  # nobody mentors themselves: take the next person instead
            other = people[(i + 1) % len(people)]
        updates.append(
            UserAttributeUpdate(
                user_id=p.id,
                attrs=(
                    AttributeUpdate(attr_id=desk, text=f"{floor}F-{rng.randrange(1, 120):03d}"),
                    AttributeUpdate(attr_id=level, option=f"P{rng.randrange(1, 10)}"),
                    AttributeUpdate(
                        attr_id=homepage,
                        url_title=f"{p.user_name}的主页",
                        url_link=f"https://wiki.demo.openroster.dev/people/{p.login_name}",
                        has_url=True,
                    ),
                    AttributeUpdate(attr_id=mentor, relation_user=other.id if other.id != p.id else ""),
                    AttributeUpdate(
                        attr_id=partners, relation_depts=tuple(str(x.id) for x in rng.sample(list(depts), 2))
                    ),
                ),
            )
        )
    for start in range(0, len(updates), 100):
        attributes.update_values_in(tx, tenant_id=tenant_id, updates=updates[start : start + 100])


def sample_user_ids(d: Directory, count: int, tenant_id: str = DEMO_TENANT) -> list[str]:
    """The first ``count`` active users of the demo company, by employee id."""
    from openroster.store import users as user_rows

    with d.reader() as r:
        return user_rows.first_ids(r.conn, tenant_id, count, status="active")


# -- large companies ------------------------------------------------------------------


def _large_tree(users_count: int) -> list[tuple[str, ...]]:
    """The demo tree, with two more levels of teams below each leaf: one team per ~60 people."""
    leaves = [p for p in DEMO_DEPARTMENTS if not any(q.startswith(p + "/") for q in DEMO_DEPARTMENTS)]
    per_leaf = max(1, users_count // 60 // len(leaves))
    branches = max(1, round(per_leaf**0.5))
    teams = max(1, -(-per_leaf // branches))
    paths = [tuple(p.split("/")) for p in DEMO_DEPARTMENTS]
    for leaf in leaves:
        base = tuple(leaf.split("/"))
        for b in range(1, branches + 1):
            branch = (*base, f"第{b}分部")
            paths.append(branch)
            paths += [(*branch, f"第{t}小组") for t in range(1, teams + 1)]
    return paths


def _uid(i: int) -> str:
    """A unique, random-looking id for person ``i`` (a bijection on 40 bits)."""
    return f"{(i * 0x9E3779B1 + 0x5DEECE66D) % (1 << 40):010x}"


def _build_large(
    d: Directory, *, tenant_id: str, users_count: int, progress: Callable[[int], None] | None
) -> None:
    with d.writer() as tx:
        tenants.create_in(tx, tenants.build(d, tenant_id=tenant_id, name=DEMO_COMPANY))
        by_path = bulk.add_department_paths(tx, d, tenant_id=tenant_id, paths=_large_tree(users_count))
        attributes.create_definitions_in(tx, d, tenant_id=tenant_id, items=DEMO_ATTRIBUTES)
        paths = list(by_path)
        index = {path: i for i, path in enumerate(paths)}
        parent_paths = {p[:-1] for p in paths}
        spec = _LargeCompany(
            users_count=users_count,
            dept_ids=[by_path[p].id for p in paths],
            parents=[index[p[:-1]] if len(p) > 1 else -1 for p in paths],
            tops=[p[0] for p in paths],
            leaves=[i for i, p in enumerate(paths) if p not in parent_paths],
        )
        chunks = -(-users_count // bulk.CHUNK)
        make = functools.partial(_large_chunk, spec)
        if users_count >= LARGE_COMPANY_PARALLEL_MIN:
            bulk.add_people_parallel(
                tx, d, tenant_id=tenant_id, make_chunk=make, chunks=chunks, progress=progress
            )
        else:
            people = (person for k in range(chunks) for person in make(k))
            bulk.add_people(tx, d, tenant_id=tenant_id, people=people, progress=progress)


#: From this many people, the large company is generated and checked in worker processes too.
LARGE_COMPANY_PARALLEL_MIN = 100_000


@dataclass(frozen=True, slots=True)
class _LargeCompany:
    """What generating any chunk of a large company's people needs (small, so cheap to pickle)."""

    users_count: int
    dept_ids: list[int]  # in tree order: parents before children
    parents: list[int]  # index of each department's parent in dept_ids, -1 below the root
    tops: list[str]  # each department's top-level name
    leaves: list[int]  # indexes of the departments without children


def _large_chunk(spec: _LargeCompany, k: int) -> list[bulk.Person]:
    """People ``k * CHUNK`` .. of a large company: deterministic, whatever process makes them.

    Person ``j`` leads department ``j`` while there are departments; everyone
    else joins a random team and reports to its leader.
    """
    rand = random.Random(20261121 * 1_000_003 + k).random  # floats: much cheaper than randrange

    def pick(seq: Sequence[T]) -> T:
        return seq[int(rand() * len(seq))]

    n_depts = len(spec.dept_ids)
    out: list[bulk.Person] = []
    for i in range(k * bulk.CHUNK, min(spec.users_count, (k + 1) * bulk.CHUNK)):
        surname, s_py = pick(_SURNAMES)
        gender = "male" if rand() < 0.5 else "female"
        given = [pick(_GIVEN_MALE if gender == "male" else _GIVEN_FEMALE) for _ in range(1 + (rand() < 0.5))]
        name = surname + "".join(g[0] for g in given)
        login = f"{s_py}{''.join(g[1] for g in given)}{i + 1}"
        uid = _uid(i)
        is_leader = i < n_depts
        dept = i if is_leader else pick(spec.leaves)
        dept_id = spec.dept_ids[dept]
        if is_leader:
            parent = spec.parents[dept]
            leader_id = _uid(parent) if parent >= 0 else (_uid(0) if i > 0 else None)
        else:
            leader_id = _uid(dept) if dept < spec.users_count else None
        city, office = pick(_OFFICES)
        roll = rand()
        status = "active"
        if i >= 10:
            status = (
                "notactive"
                if roll < 0.04
                else "disabled"
                if roll < 0.07
                else "dimission"
                if roll < 0.10
                else status
            )
        kind = rand()
        extra = spec.dept_ids[pick(spec.leaves)] if rand() < 0.08 else dept_id
        dept_ids = (dept_id,) if extra == dept_id else (dept_id, extra)
        attrs = [
            AttributeUpdate(attr_id="attr-desk", text=f"{2 + int(rand() * 18)}F-{1 + int(rand() * 119):03d}"),
            AttributeUpdate(attr_id="attr-level", option=f"P{1 + int(rand() * 9)}"),
        ]
        if rand() < 0.3:
            attrs.append(
                AttributeUpdate(
                    attr_id="attr-homepage",
                    url_title=f"{name}的主页",
                    url_link=f"https://wiki.demo.openroster.dev/people/{login}",
                    has_url=True,
                )
            )
        if i > 0 and rand() < 0.2:
            attrs.append(AttributeUpdate(attr_id="attr-mentor", relation_user=_uid(int(rand() * i))))
        if rand() < 0.1:
            partner = spec.dept_ids[pick(spec.leaves)]
            parent_id = spec.dept_ids[spec.parents[dept]] if spec.parents[dept] >= 0 else 1
            pair = (str(partner),) if partner == parent_id else (str(partner), str(parent_id))
            attrs.append(AttributeUpdate(attr_id="attr-partners", relation_depts=pair))
        out.append(
            bulk.Person(
                user=users.NewUser(
                    id=uid,
                    user_name=name,
                    dept_ids=dept_ids,
                    def_dept_id=dept_id,
                    email=f"{login}@demo.openroster.dev",
                    phone=f"1{'3456789'[i % 7]}{(i * 387_420_489 + 12_345) % 10**9:09d}",
                    gender=gender,
                    employee_id=f"E{i + 1:07d}",
                    employer=_EMPLOYERS[i % len(_EMPLOYERS)],
                    employment_status="probationary" if kind < 0.12 else "regular",
                    employment_type="intern" if kind > 0.92 else "permanent",
                    ex_user_id=f"hr-{i + 1:07d}",
                    leader_id=leader_id,
                    login_name=login,
                    role="super-admin" if i == 0 else "admin" if i < 3 else "normal",
                    status=status,
                    title="总经理" if i == 0 else "负责人" if is_leader else pick(_TITLES[spec.tops[dept]]),
                    telephone=f"0{('10', '21', '571', '755')[i % 4]}-{10**7 + int(rand() * 9 * 10**7)}",
                    work_place=office,
                    city=city,
                    country="中国",
                    avatar=f"https://avatars.demo.openroster.dev/{uid}.png",
                    leader_of=(dept_id,) if is_leader else (),
                ),
                attrs=tuple(attrs),
            )
        )
    return out
