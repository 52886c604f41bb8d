"""The dashboard's figures: cases open and overdue, answers on time, decisions and actions per day,
and the guard's decisions since the process started. Read-only; rendered by `console.dashboard`."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from hegui.cases import store
from hegui.cases.config import KIND_NAMES, KINDS
from hegui.cases.store import OPEN_STATES, china_day
from hegui.cases.tables import CaseEventRow, CaseRow
from hegui.gateway.state import GatewayState
from hegui.web.chart import stacked_bars

ACTION_EVENTS = ("decided", "takedown", "sanction", "improve-queue", "authority-rpt", "refutation")


def dashboard_data(st: GatewayState, tenant: str, today: date) -> dict[str, Any]:
    """Everything the dashboard shows, for one tenant, on the Beijing day ``today``."""
    counts = store.counts_by_state(st.engine, tenant=tenant)
    open_cases = store.list_cases(st.engine, tenant=tenant, open_only=True, limit=100_000)
    overdue_cases = [c for c in open_cases if c.overdue_on(today)]
    days = [today - timedelta(days=13 - i) for i in range(14)]
    since = (days[0] - timedelta(days=1)).isoformat()
    e, c = CaseEventRow, CaseRow
    with st.engine.connect() as conn:
        rows = conn.execute(
            select(e.at, e.event, e.detail)
            .join(c, c.id == e.case_id)
            .where((c.tenant == tenant) & (e.at >= since) & e.event.in_(ACTION_EVENTS))
        ).all()
        answered = conn.execute(
            select(c.due_date, c.answered_at).where((c.tenant == tenant) & c.answered_at.is_not(None))
        ).all()
    per: Counter[tuple[str, str]] = Counter()
    for at, event, detail in rows:
        name = event
        if event == "decided":
            name = "decision:" + json.loads(detail).get("decision", "?")
        per[(china_day(at).isoformat(), name)] += 1
    series_names = sorted({n for _, n in per})
    labels = [d.strftime("%m-%d") for d in days]
    series = {n: [per[(d.isoformat(), n)] for d in days] for n in series_names}
    by_kind = Counter(k.kind for k in open_cases)
    guard = guard_decisions(st)
    return {
        "guard": guard,
        "open": sum(counts.get(s, 0) for s in OPEN_STATES),
        "overdue": len(overdue_cases),
        "overdue_cases": overdue_cases[:20],
        "answered": len(answered),
        "on_time": sum(1 for due, at in answered if at is not None and china_day(at).isoformat() <= due),
        "actions_chart": stacked_bars(labels, series or {"none": [0] * len(days)}),
        "kinds_chart": stacked_bars(
            [KIND_NAMES[k][0] for k in KINDS], {"open": [by_kind.get(k, 0) for k in KINDS]}
        ),
    }


def guard_decisions(st: GatewayState) -> dict[str, Any]:
    """The guard's decisions since this process started, from its Prometheus counter: by action, the
    refusal rate of inputs, and the most frequent risk categories. Per process and cheap; the
    time series across replicas belong in Prometheus (`hegui_decisions_total`)."""
    by_action: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    inputs = refused = 0
    for metric in st.metrics.decisions.collect():
        for sample in metric.samples:
            if not sample.name.endswith("_total") or not sample.value:
                continue
            labels, n = sample.labels, int(sample.value)
            by_action[f"{labels['stage']}:{labels['action']}"] += n
            if labels["category"] != "none":
                by_category[labels["category"]] += n
            if labels["stage"] == "input":
                inputs += n
                refused += n if labels["action"] in ("refuse", "block_user") else 0
    actions_sorted = sorted(by_action.items())
    return {
        "total": sum(by_action.values()),
        "refusal_rate": f"{refused / inputs:.1%}" if inputs else "–",
        "chart": stacked_bars(
            [name for name, _ in actions_sorted] or ["–"],
            {"decisions": [n for _, n in actions_sorted] or [0]},
        ),
        "categories": by_category.most_common(10),
    }
