"""The demo company's HR roster: ID data, education rows, emergency contacts, contracts, ...

Deterministic: each person's roster comes from a random generator seeded with
their user id, so the same company always has the same roster. Written with
:func:`openroster.core.roster.load_in`, which checks every value as a roster
write does. The first ``ROSTER_PEOPLE_MAX`` people (by user id) get one; a
bigger demo company leaves the rest without, to keep ``openroster demo
--users 1000000`` quick.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from datetime import date, timedelta

from openroster.core import roster
from openroster.core.directory import Directory
from openroster.core.roster import FieldWrite, GroupWrite, SectionWrite
from openroster.model.entities import User
from openroster.store import roster as roster_rows

#: People who get a roster in the demo company.
ROSTER_PEOPLE_MAX = 5_000

_PROVINCES = [
    ("110108", "北京市海淀区"),
    ("310115", "上海市浦东新区"),
    ("330106", "浙江省杭州市西湖区"),
    ("440305", "广东省深圳市南山区"),
    ("510107", "四川省成都市武侯区"),
    ("420106", "湖北省武汉市武昌区"),
    ("320102", "江苏省南京市玄武区"),
    ("370102", "山东省济南市历下区"),
]
_STREETS = ["中关村大街", "人民路", "解放路", "建设路", "和平路", "文化路", "学院路", "科技路"]
_UNIVERSITIES = [
    "北京大学",
    "清华大学",
    "浙江大学",
    "复旦大学",
    "上海交通大学",
    "南京大学",
    "武汉大学",
    "中山大学",
]
_HIGH_SCHOOLS = ["第一中学", "实验中学", "外国语学校", "师范大学附属中学"]
_MAJORS = [
    "计算机科学与技术",
    "软件工程",
    "电子信息工程",
    "市场营销",
    "会计学",
    "工商管理",
    "人力资源管理",
    "数学",
]
_BANKS = ["中国工商银行", "中国建设银行", "招商银行", "中国银行", "交通银行"]
_RELATIONS = ["父亲", "母亲", "配偶", "兄弟", "姐妹", "朋友"]
_CONTACT_NAMES = ["王建国", "李秀英", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄丽"]
_CHILD_NAMES = ["小明", "小红", "乐乐", "朵朵", "豆豆"]

#: Option values (see core/roster.py): education, marriage, political status, residence, contract.
_EDU_HIGH_SCHOOL, _EDU_BACHELOR, _EDU_MASTER, _EDU_DOCTOR = "3", "6", "7", "8"


def _day(d: date) -> str:
    return d.isoformat()


def _cert_no(rng: random.Random, region: str, birth: date) -> str:
    """A well-formed mainland ID number (GB 11643 check digit) for a made-up person."""
    body = f"{region}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
    return body + check


def _group(gid: str, *rows: dict[str, str]) -> GroupWrite:
    return GroupWrite(gid, tuple(SectionWrite(tuple(FieldWrite(k, v) for k, v in r.items())) for r in rows))


def person_roster(u: User, employer: str | None) -> list[GroupWrite]:
    """The demo roster of one person (deterministic in their user id)."""
    rng = random.Random(hashlib.sha256(u.id.encode()).digest())
    birth = date(1970, 1, 1) + timedelta(days=rng.randrange(365 * 32))
    region, area = rng.choice(_PROVINCES)
    joined = date(2012, 1, 1) + timedelta(days=rng.randrange(365 * 12))
    first_work = birth + timedelta(days=365 * 22 + rng.randrange(365 * 3))
    school_end = date(first_work.year, 7, 1)
    education: list[dict[str, str]] = [
        {
            "sys03-highestEdu": _EDU_HIGH_SCHOOL,
            "sys03-graduateSchool": f"{area[:3]}{rng.choice(_HIGH_SCHOOLS)}",
            "sys03-graduationTime": _day(date(school_end.year - 4, 7, 1)),
        },
        {
            "sys03-highestEdu": _EDU_BACHELOR,
            "sys03-graduateSchool": rng.choice(_UNIVERSITIES),
            "sys03-graduationTime": _day(school_end),
            "sys03-major": rng.choice(_MAJORS),
        },
    ]
    if rng.random() < 0.3:
        education.append(
            {
                "sys03-highestEdu": _EDU_MASTER if rng.random() < 0.85 else _EDU_DOCTOR,
                "sys03-graduateSchool": rng.choice(_UNIVERSITIES),
                "sys03-graduationTime": _day(date(school_end.year + 3, 7, 1)),
                "sys03-major": rng.choice(_MAJORS),
            }
        )
    contacts = [
        {
            "sys06-urgentContactsName": rng.choice(_CONTACT_NAMES),
            "sys06-urgentContactsRelation": rng.choice(_RELATIONS),
            "sys06-urgentContactsPhone": f"13{rng.randrange(10**9):09d}",
        }
        for _ in range(rng.choice((1, 1, 2)))
    ]
    contract_start = joined
    renewals = rng.randrange(3)
    now_start = contract_start + timedelta(days=365 * 3 * renewals)
    married = rng.random() < 0.6
    family = [{"sys07-haveChild": "2"}]
    if married and rng.random() < 0.7:
        child_birth = max(first_work, date(2005, 1, 1)) + timedelta(days=rng.randrange(365 * 10))
        family = [
            {
                "sys07-haveChild": "1",
                "sys07-childName": rng.choice(_CHILD_NAMES),
                "sys07-childSex": rng.choice(("1", "2")),
                "sys07-childBirthDate": _day(child_birth),
            }
        ]
    return (
        [
            _group("sys00", {"sys00-confirmJoinTime": _day(joined)}),
            _group(
                "sys01",
                {
                    "sys01-probationPeriodType": "4",  # 3 个月
                    "sys01-regularTime": _day(joined + timedelta(days=91)),
                    "sys01-positionLevel": f"P{rng.randrange(4, 9)}",
                },
            ),
            _group(
                "sys02",
                {
                    "sys02-realName": u.user_name,
                    "sys02-certNo": _cert_no(rng, region, birth),
                    "sys02-birthTime": _day(birth),
                    "sys02-nationType": "1" if rng.random() < 0.9 else str(rng.randrange(2, 57)),
                    "sys02-certAddress": f"{area}{rng.choice(_STREETS)}{rng.randrange(1, 300)}号",
                    "sys02-certEndTime": _day(
                        date(2030 + rng.randrange(10), birth.month, min(birth.day, 28))
                    ),
                    "sys02-marriage": "2" if married else "1",
                    "sys02-joinWorkingTime": _day(first_work),
                    "sys02-residenceType": rng.choice(("1", "2", "3", "4")),
                    "sys02-address": f"{area}{rng.choice(_STREETS)}{rng.randrange(1, 300)}号"
                    f"{rng.randrange(1, 30)}室",
                    "sys02-politicalStatus": rng.choice(("1", "3", "13", "13", "13")),
                },
            ),
            _group("sys03", *education),
            _group(
                "sys04",
                {
                    "sys04-bankAccountNo": f"6222{rng.randrange(10**15):015d}",
                    "sys04-accountBank": rng.choice(_BANKS),
                },
            ),
            _group(
                "sys05",
                {
                    "sys05-contractCompanyName": employer or "",
                    "sys05-contractType": "1",
                    "sys05-firstContractStartTime": _day(contract_start),
                    "sys05-firstContractEndTime": _day(contract_start + timedelta(days=365 * 3 - 1)),
                    "sys05-nowContractStartTime": _day(now_start),
                    "sys05-nowContractEndTime": _day(now_start + timedelta(days=365 * 3 - 1)),
                    "sys05-contractPeriodType": "4",  # 3 年
                    "sys05-contractRenewCount": str(renewals),
                },
            ),
            _group("sys06", *contacts),
            _group("sys07", *family),
            _group(
                "sys09",
                {
                    "sys09-personalSi": f"{region}{rng.randrange(10**8):08d}",
                    "sys09-personalHf": f"{region[:4]}{rng.randrange(10**10):010d}",
                },
            ),
        ]
        + ([_group("sys08", {"sys08-personalPhoto": u.avatar})] if u.avatar else [])
    )


def load(d: Directory, *, tenant_id: str, people_max: int = ROSTER_PEOPLE_MAX) -> int:
    """Give the demo company's people their rosters (those without one yet). Returns the values written.

    Resumable: people who already have roster values are left as they are.
    """
    with d.reader() as r:
        ids = roster_rows.page_user_ids(
            r.conn,
            tenant_id,
            statuses=["active", "notactive", "disabled", "dimission"],
            employment_statuses=None,
            offset=0,
            limit=people_max,
        )
    written = 0
    for start in range(0, len(ids), 500):
        chunk: Sequence[str] = ids[start : start + 500]
        with d.reader() as r:
            have = roster_rows.get_values(r.conn, tenant_id, chunk)
            people = r.users(tenant_id, [uid for uid in chunk if uid not in have])
        if not people:
            continue
        records = {uid: person_roster(u, u.employer) for uid, u in people.items()}
        with d.writer() as tx:
            written += roster.load_in(tx, tenant_id=tenant_id, records=records)
    return written
