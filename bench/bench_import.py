"""Import a generated 100,000-row spreadsheet with ``openroster import`` and time it.

    .venv/bin/python bench/bench_import.py [--rows 100000] [--format xlsx] [--shared-strings] [--keep DIR]

The sheet is what an HR department hands over: name, employee id, email,
mobile, gender, a department path four levels deep (about 400 departments),
title, manager (every tenth person leads the nine after them), employment type,
status, two custom attributes (text and option) and a roster field (ID
number). The import runs as a real ``openroster import`` process on a fresh
SQLite store, the same command an administrator types, with its progress bar.
Then the same file is imported again (nothing must change) and exported.
The target is under 60 s for 100,000 rows.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from openroster.core.sheets.files import write_sheet

HEADERS = [
    "姓名",
    "工号",
    "邮箱",
    "手机号",
    "性别",
    "部门",
    "职位",
    "直属主管",
    "员工类型",
    "账号状态",
    "工位",
    "职级",
    "证件号码",
]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟强磊军洋勇杰涛明超刚平辉鹏浩宇俊晨博翔芳娜敏静丽艳娟霞秀英华慧巧美婷雪琳"
TITLES = [
    "工程师",
    "高级工程师",
    "产品经理",
    "设计师",
    "测试工程师",
    "运营专员",
    "销售代表",
    "会计",
    "人事专员",
]
TYPES = ["全职", "全职", "全职", "实习", "兼职", "劳务派遣"]


def departments(rng: random.Random) -> list[str]:
    """About 400 paths: 4 regions / 5 centres / 5 departments / 4 teams."""
    paths = []
    for region in ("华北", "华东", "华南", "西南"):
        for centre in ("研发中心", "产品中心", "销售中心", "运营中心", "职能中心"):
            for dept in range(1, 6):
                for team in range(1, 5):
                    paths.append(f"总部/{region}大区/{centre}/{centre[:2]}{dept}部/第{team}组")
    rng.shuffle(paths)
    return paths


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    paths = departments(rng)

    def people() -> object:
        for i in range(rows):
            n = i + 1
            leader = "" if i % 10 == 0 else f"E{(i - i % 10) + 1:06d}"
            yield [
                rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                f"E{n:06d}",
                f"user{n:06d}@example.com",
                f"139{n:08d}",
                rng.choice(["男", "女"]),
                paths[(i // 10) % len(paths)],
                rng.choice(TITLES),
                leader,
                rng.choice(TYPES),
                "正常",
                f"{rng.choice('ABCDEF')}-{rng.randint(100, 999)}",
                f"P{rng.randint(3, 9)}",
                f"11010119{rng.randint(70, 99)}0101{n % 10000:04d}",
            ]

    write_sheet(path, HEADERS, people())  # type: ignore[arg-type]


#: An inline-string cell as openpyxl's write-only mode writes it: reference, text attributes, text.
_INLINE = re.compile(
    r'<c r="([A-Z]+\d+)" t="inlineStr"><is><t((?: xml:space="preserve")?)>([^<]*)</t></is></c>'
)


def as_excel_writes_it(path: Path) -> None:
    """Rewrite an .xlsx so its text is in a shared-string table, as Excel and WPS write it."""
    with zipfile.ZipFile(path) as src:
        parts = {i.filename: src.read(i.filename) for i in src.infolist()}
    items: dict[tuple[str, str], int] = {}

    def shared(m: re.Match[str]) -> str:
        index = items.setdefault((m.group(2), m.group(3)), len(items))
        return f'<c r="{m.group(1)}" t="s"><v>{index}</v></c>'

    parts["xl/worksheets/sheet1.xml"] = _INLINE.sub(
        shared, parts["xl/worksheets/sheet1.xml"].decode()
    ).encode()
    table = "".join(f"<si><t{space}>{text}</t></si>" for space, text in items)
    parts["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{len(items)}" uniqueCount="{len(items)}">{table}</sst>'
    ).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in parts.items():
            dst.writestr(name, data)


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall-clock seconds and CPU seconds (user + system) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    parser.add_argument("--keep", type=Path, help="Work in this directory and keep it.")
    parser.add_argument(
        "--shared-strings", action="store_true", help="Write the .xlsx's text as Excel does (shared strings)."
    )
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="openroster-bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    sheet = work / f"people.{args.format}"
    openroster = [sys.executable, "-m", "openroster"]
    try:
        started = time.perf_counter()
        generate(sheet, args.rows)
        if args.shared_strings and args.format == "xlsx":
            as_excel_writes_it(sheet)
        print(
            f"generated {args.rows} rows in {time.perf_counter() - started:.1f} s: {sheet}", file=sys.stderr
        )
        subprocess.run(
            [*openroster, "tenant", "create", "bench", "--name", "示例集团", "--data-dir", str(data)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        setup = (
            "from openroster.config import Settings\n"
            "from openroster.server.app import open_directory\n"
            "from openroster.core.custom import attributes\n"
            f"d = open_directory(Settings(data_dir=__import__('pathlib').Path({str(data)!r})))\n"
            "attributes.create_definitions(d, tenant_id='bench', items=[\n"
            "    attributes.NewDefinition(name='工位', value_type='text'),\n"
            "    attributes.NewDefinition(name='职级', value_type='option',\n"
            "        options=tuple((f'P{i}', f'P{i}') for i in range(3, 10)))])\n"
        )
        subprocess.run([sys.executable, "-c", setup], check=True)
        base = [*openroster, "import", str(sheet), "--tenant", "bench", "--data-dir", str(data)]
        results = {
            "import": run(base),
            "the same file again (nothing changes)": run(base),
            "export": run(
                [
                    *openroster,
                    "export",
                    "--tenant",
                    "bench",
                    "--format",
                    args.format,
                    "--data-dir",
                    str(data),
                    "-o",
                    str(work / f"export.{args.format}"),
                ]
            ),
        }
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"\n{args.rows} rows ({args.format}); load average at the end {load}")
        for name, (wall, cpu) in results.items():
            print(f"{name:<40} {wall:6.1f} s wall, {cpu:6.1f} s CPU")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
