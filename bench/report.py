"""Turn a suite result into the tables of docs/benchmarks.md and the chart it shows.

Only the part between the suite markers of the page is rewritten; the
sections other benchmarks add to the page stay as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.harness import ROOT

DOC = ROOT / "docs" / "benchmarks.md"
CHART = ROOT / "docs" / "benchmarks.png"
BEGIN = "<!-- bench-suite:begin (written by ./scripts/bench; edit bench/report.py instead) -->"
END = "<!-- bench-suite:end -->"

#: Issue 2 §6 and issue 7 targets.
HEADLINE_RPS = 2500
HEADLINE_RATIO = 0.35
SCALE_MAX = 1.5
RSS_MAX_MIB = 300
BUILD_MAX_S = 180


def _ok(flag: bool) -> str:
    return "met" if flag else "**missed**"


def _runs(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in result["runs"] if "failed" not in r]


def _find(result: dict[str, Any], backend: str, size: int, scenario: str) -> dict[str, Any] | None:
    for r in _runs(result):
        if (r["backend"], r["size"], r["scenario"]) == (backend, size, scenario):
            return r
    return None


def tables(result: dict[str, Any]) -> str:
    meta = result["meta"]
    m, v, st = meta["machine"], meta["versions"], meta["settings"]
    out = [
        f"## Last suite run: {meta['date']}",
        "",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; load average at start "
        f"{', '.join(f'{x:.2f}' for x in m['loadavg'])}.",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        f"- Load: wrk {v.get('wrk', '?')}, {st['wrk_threads']} thread, {st['connections']} connections, "
        f"{st['seconds']:g} s per run after {st['warmup']:g} s of warm-up, beside "
        f"{st['server_processes']} server process on the same machine. Each call rotates through 64 "
        "distinct signed requests; the bare endpoint answers the same bytes on the same server.",
        f"- The whole run took {meta.get('elapsed_seconds', 0) / 60:.1f} minutes.",
    ]
    if meta.get("note"):
        out.append(f"- Note: {meta['note']}")
    out.append("")
    head = _find(result, "sqlite", 100_000, "wps.batch_read")
    if head is not None:
        real, bare = head["real"], head["bare"]
        out += [
            "### Headline: batch_read of 100 ids with departments, 100,000 people, SQLite, one process",
            "",
            "| requests/s | p50 | p99 | bare endpoint | ratio | target |",
            "|---:|---:|---:|---:|---:|---|",
            f"| {real['rps']:,.0f} | {real['p50_ms']:.2f} ms | {real['p99_ms']:.2f} ms | "
            f"{bare['rps']:,.0f} req/s | {head['ratio']:.1%} | ≥ {HEADLINE_RPS:,} req/s: "
            f"{_ok(real['rps'] >= HEADLINE_RPS)}; ≥ {HEADLINE_RATIO:.0%} of bare: "
            f"{_ok(head['ratio'] >= HEADLINE_RATIO)} |",
            "",
        ]
        if len(head.get("pairs", [])) > 1:
            out += [
                f"The real and the bare endpoint were measured side by side {len(head['pairs'])} times; "
                "the table shows the median run of each and the median of the pairs' ratios. Every pair "
                "(real / bare requests/s, ratio): "
                + "; ".join(
                    f"{p['real_rps']:,.0f} / {p['bare_rps']:,.0f} ({p['ratio']:.1%})" for p in head["pairs"]
                )
                + ".",
                "",
            ]
    out += [
        "### Every call, each beside the bare endpoint",
        "",
        "| backend | people | call | requests/s | p50 | p99 | bare req/s | ratio | reply | server RSS |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["runs"]:
        if "failed" in r:
            out.append(
                f"| {r['backend']} | {r['size']:,} | {r['scenario']} | failed: {r['failed'][:80]} |||||||"
            )
            continue
        real, bare = r["real"], r["bare"]
        errors = f" ({r['errors']})" if r.get("errors") else ""
        out.append(
            f"| {r['backend']} | {r['size']:,} | {r['title']}{errors} | {real['rps']:,.0f} | "
            f"{real['p50_ms']:.2f} ms | {real['p99_ms']:.2f} ms | {bare['rps']:,.0f} | {r['ratio']:.0%} | "
            f"{r['reply_bytes'] / 1024:.1f} KiB | {r['rss_mib']:.0f} MiB |"
        )
    out.append("")
    scale = []
    sizes = sorted({r["size"] for r in _runs(result)})
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        for backend in ("sqlite", "postgresql"):
            for scenario in ("wps.batch_read", "wps.users_page", "wps.batch_read_cold"):
                a, b = _find(result, backend, small, scenario), _find(result, backend, large, scenario)
                if a and b and b["real"]["rps"]:
                    cost = a["real"]["rps"] / b["real"]["rps"]
                    target = (
                        f"≤ {SCALE_MAX}×: {_ok(cost <= SCALE_MAX)}"
                        if scenario != "wps.batch_read_cold"
                        else "—"
                    )
                    scale.append(
                        f"| {backend} | {scenario} | {a['real']['rps']:,.0f} | {b['real']['rps']:,.0f} | "
                        f"{cost:.2f}× | {target} |"
                    )
        if scale:
            out += [
                f"### Scale: cost per call at {large:,} people relative to {small:,}",
                "",
                f"| backend | call | req/s at {small:,} | req/s at {large:,} | cost ratio | target |",
                "|---|---|---:|---:|---:|---|",
                *scale,
                "",
            ]
        rss = [r["rss_mib"] for r in _runs(result) if r["size"] == large]
        if rss:
            out.append(
                f"- Largest server RSS at {large:,} people: {max(rss):.0f} MiB "
                f"(target < {RSS_MAX_MIB} MiB: {_ok(max(rss) < RSS_MAX_MIB)})."
            )
    for b in result.get("builds", []):
        if b.get("build_seconds") is not None:
            line = (
                f"- Building the {b['size']:,}-person demo tenant on {b['backend']}: "
                f"{b['build_seconds']:.0f} s"
            )
            if b["backend"] == "sqlite" and b["size"] >= 1_000_000:
                line += f" (target < {BUILD_MAX_S} s: {_ok(b['build_seconds'] < BUILD_MAX_S)})"
            out.append(line + ".")
    out += ["", f"![requests per second, each call beside its bare endpoint]({CHART.name})", ""]
    return "\n".join(out)


def chart(result: dict[str, Any], path: Path = CHART) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = _runs(result)
    scenarios = list(dict.fromkeys(r["scenario"] for r in runs))
    targets = list(dict.fromkeys((r["backend"], r["size"]) for r in runs))
    cols = min(3, len(scenarios)) or 1
    rows = -(-len(scenarios) // cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False)
    for ax in axes.flat[len(scenarios) :]:
        ax.axis("off")
    for ax, scenario in zip(axes.flat, scenarios, strict=False):
        here = [
            t
            for t in targets
            if any((r["backend"], r["size"], r["scenario"]) == (*t, scenario) for r in runs)
        ]
        labels, real, bare = [], [], []
        for t in here:
            r = next(x for x in runs if (x["backend"], x["size"], x["scenario"]) == (*t, scenario))
            labels.append(f"{'SQLite' if t[0] == 'sqlite' else 'PostgreSQL'}\n{t[1]:,}")
            real.append(r["real"]["rps"])
            bare.append(r["bare"]["rps"])
        xs = range(len(here))
        ax.bar(xs, bare, color="#d9d9d9", label="bare endpoint (same bytes)")
        ax.bar(xs, real, width=0.55, color="#2b6cb0", label="openroster")
        for x, (rv, bv) in enumerate(zip(real, bare, strict=True)):
            ax.text(
                x,
                rv,
                f"{rv:,.0f}\n{rv / bv:.0%}" if bv else f"{rv:,.0f}",
                ha="center",
                va="bottom",
                fontsize=7,
            )
        ax.set_xticks(list(xs), labels, fontsize=7)
        ax.set_title(next(r["title"] for r in runs if r["scenario"] == scenario), fontsize=8)
        ax.set_ylabel("requests/s", fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
    axes.flat[0].legend(fontsize=7, loc="upper right")
    fig.suptitle(f"openroster, one server process, wrk beside it ({result['meta']['date']})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(result: dict[str, Any], doc: Path = DOC) -> None:
    block = f"{BEGIN}\n{tables(result)}\n{END}"
    text = doc.read_text() if doc.exists() else ""
    if BEGIN in text and END in text:
        before, _, rest = text.partition(BEGIN)
        _, _, after = rest.partition(END)
        text = before + block + after
    else:
        text = (text.rstrip() + "\n\n" if text else "# Benchmarks\n\n") + block + "\n"
    doc.write_text(text)
    chart(result)


def summary(result: dict[str, Any]) -> str:
    lines = []
    for r in result["runs"]:
        if "failed" in r:
            lines.append(f"{r['backend']:<10} {r['size']:>9,} {r['scenario']:<22} FAILED {r['failed'][:100]}")
        else:
            lines.append(
                f"{r['backend']:<10} {r['size']:>9,} {r['scenario']:<22} {r['real']['rps']:>8,.0f} req/s "
                f"p50 {r['real']['p50_ms']:.2f} ms p99 {r['real']['p99_ms']:.2f} ms  "
                f"bare {r['bare']['rps']:>8,.0f}"
                f"  {r['ratio']:.0%}  rss {r['rss_mib']:.0f} MiB"
            )
    return "\n".join(lines)
