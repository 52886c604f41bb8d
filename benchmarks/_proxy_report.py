"""The tables and verdicts of `proxy_overhead.py`: latency, maximum throughput and the search per
connection count, from the measurements that script takes (kept apart so that it holds the measuring)."""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

from _results import machine

MODES = ("whole", "stream")
TARGET_P50_MS = 3.0
TARGET_P99_MS = 15.0

if TYPE_CHECKING:
    import argparse

    from _proxy_targets import Target
    from proxy_overhead import Latency, Step


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least q % of the samples at or below it."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def cpu_text(cpu: dict[str, float]) -> str:
    return " ".join(f"{k} {v * 100:.0f}%" for k, v in cpu.items())


# ---------------------------------------------------------------- report


def _latency_rows(targets: list[Target], latency: Latency) -> list[str]:
    rows = [
        "| path | mode | p50 ms | p99 ms | added p50 ms | added p99 ms | server CPU ms/request |",
        "|---|---|---|---|---|---|---|",
    ]
    for target in targets:
        for mode in MODES:
            samples = latency.samples.get((target.name, mode), [])
            direct = latency.samples.get(("direct", mode), [])
            cells = ["—"] * 5
            if samples:
                p50, p99 = percentile(samples, 50), percentile(samples, 99)
                cells[:2] = [f"{p50:.2f}", f"{p99:.2f}"]
                if target.name != "direct" and direct:
                    cells[2:4] = [
                        f"{p50 - percentile(direct, 50):+.2f}",
                        f"{p99 - percentile(direct, 99):+.2f}",
                    ]
            if (target.name, mode) in latency.cpu_ms:
                cells[4] = f"{latency.cpu_ms[(target.name, mode)]:.2f}"
            if errors := latency.errors.get((target.name, mode), 0):
                cells[1] += f" ({errors} wrong answers)"
            rows.append(f"| {target.name} | {mode} | " + " | ".join(cells) + " |")
    return rows


def _throughput_rows(targets: list[Target], steps: list[Step]) -> list[str]:
    rows = [
        "| path | mode | max req/s | at conns | wrk p50 / p99 ms there | server CPU ms/request there |"
        " CPU there: stub / proxy / wrk / other |",
        "|---|---|---|---|---|---|---|",
    ]
    for target in targets:
        for mode in MODES:
            ok = [s for s in steps if s.target == target.name and s.mode == mode and s.good]
            if not ok:
                rows.append(f"| {target.name} | {mode} | — | — | — | — | — |")
                continue
            top = max(ok, key=lambda s: s.rps)
            c = top.cpu
            server = c["proxy"] if target.service else c["stub"]
            rows.append(
                f"| {target.name} | {mode} | {top.rps:,.0f} | {top.connections} | "
                f"{top.p50_ms:.1f} / {top.p99_ms:.1f} | {server / top.rps * 1000:.2f} | "
                f"{c['stub']:.0%} / {c['proxy']:.0%} / {c['wrk']:.0%} / {c['other']:.0%} |"
            )
    return rows


def _search_rows(targets: list[Target], steps: list[Step]) -> list[str]:
    levels = sorted({s.connections for s in steps})
    heads = ["warm-up" if c == 0 else f"c={c}" for c in levels]
    rows = ["| path | mode | " + " | ".join(heads) + " |", "|" + "---|" * (len(levels) + 2)]
    for target in targets:
        for mode in MODES:
            by = {s.connections: s for s in steps if s.target == target.name and s.mode == mode}
            cells = [(f"{by[c].rps:,.0f}" + ("" if by[c].good else "!")) if c in by else "" for c in levels]
            rows.append(f"| {target.name} | {mode} | " + " | ".join(cells) + " |")
    return rows


def report(
    targets: list[Target],
    latency: Latency,
    steps: list[Step],
    skipped: dict[str, str],
    args: argparse.Namespace,
) -> str:
    other = ", ".join(f"{mode} {share:.0%}" for mode, share in latency.other.items())
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    title = "## Proxy overhead (issue 3)" + (", every request with an end user" if args.end_user else "")
    if args.policy != "denylist":
        title += f", policy `{args.policy}`"
    if any(len(t.bases) > 1 or "workers" in t.name for t in targets):
        title += ", workers and replicas (issue 16)"
    lines = [title, "", f"{machine()} · load average {load} (1, 5, 15 min) at the end", ""]
    if args.custom_prompt:
        lines += [f"Every request's user message: {args.prompt!r} (not the default prompt).", ""]
    if args.end_user:
        lines += [
            f"Every request names an end user (`user`: {args.end_user!r}), so hegui keeps every turn "
            "(encrypted conversation store, pool admission or its rejection row).",
            "",
        ]
    lines += [
        f"**Latency at concurrency 1**: {args.requests} timed requests per path and mode after "
        f"{args.warmup} warm-up, sent one at a time in blocks of {args.block} per path, the paths in "
        "rotating order (background load falls on all alike), from one Python "
        "`http.client` keep-alive connection per path, each timed to its last byte and checked against the "
        "stub's answer. *Added* = the proxy's percentile minus the direct one. *Server CPU* = CPU time of "
        "the proxy's processes (workers and replicas summed; direct: the stub) per request; replicas take the requests in turn. Other processes on the machine used "
        f"{other or '—'} of one core meanwhile.",
        "",
        *_latency_rows(targets, latency),
        "",
        f"**Maximum requests/s**: `wrk -t1` with a Lua POST script, {args.step_seconds:g} s per step at "
        f"{', '.join(map(str, args.levels))} connections, steps interleaved across paths; "
        + (
            "every level is measured (a sweep), up to a step with errors. "
            if args.sweep
            else "a path's search ends after two steps in a row that add < 3 %, or at a step with errors. "
        )
        + "Replicas: one wrk per replica with the connections split between them, run at once; their "
        "req/s add up and p50 / p99 are the worse of theirs. Max = its best step without "
        f"errors. CPU = share of one core during that step ({os.cpu_count()} cores); *other* = every other "
        "process on the machine (other users' work included).",
        "",
        *_throughput_rows(targets, steps),
        "",
        "Search (req/s per connection count; `!` = errors or the path stopped being ready):",
        "",
        *_search_rows(targets, steps),
    ]
    problems = [
        f"- {s.target} {s.mode} {f'c={s.connections}' if s.connections else 'warm-up'}: {s.problem}"
        for s in steps
        if s.problem
    ]
    if problems:
        lines += ["", "Problems (the path stopped being ready; its search ended there):", "", *problems]
    lines += ["", "Targets (issue 3): added p50 ≤ 3 ms, added p99 ≤ 15 ms, hegui max req/s ≥ LiteLLM's.", ""]
    lines += verdicts(latency, steps)
    lines += ["", "Paths:"]
    lines += [f"- **{t.name}**: {t.note}" for t in targets]
    lines += [f"- **{name}**: not measured — {why}" for name, why in skipped.items()]
    return "\n".join(lines) + "\n"


def verdicts(latency: Latency, steps: list[Step]) -> list[str]:
    out: list[str] = []
    for mode in MODES:
        direct, hegui = latency.samples.get(("direct", mode)), latency.samples.get(("hegui", mode))
        if not direct or not hegui:
            out.append(f"- {mode}: hegui latency not measured")
            continue
        a50 = percentile(hegui, 50) - percentile(direct, 50)
        a99 = percentile(hegui, 99) - percentile(direct, 99)
        out.append(
            f"- {mode}: added p50 {a50:.2f} ms ({'met' if a50 <= TARGET_P50_MS else 'NOT met'}), "
            f"added p99 {a99:.2f} ms ({'met' if a99 <= TARGET_P99_MS else 'NOT met'})"
        )
        best = {
            name: max((s.rps for s in steps if s.target == name and s.mode == mode and s.good), default=0.0)
            for name in ("hegui", "litellm")
        }
        if best["hegui"] and best["litellm"]:
            ratio = best["hegui"] / best["litellm"]
            met = "met" if best["hegui"] >= best["litellm"] else "NOT met"
            hegui_rps, litellm_rps = best["hegui"], best["litellm"]
            out.append(
                f"  max req/s hegui {hegui_rps:,.0f} vs LiteLLM {litellm_rps:,.0f} (×{ratio:.2f}, {met})"
            )
    return out


# ---------------------------------------------------------------- main
