"""Prometheus metrics of the cases room, read from the database at scrape time.

A collector rather than counters kept in memory: every replica then reports the same numbers (the
cases are in the shared database), and a restart loses nothing. Time to answer is a histogram in hours
over answered cases, so an alert can watch the tail, not only the mean.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from hegui.cases.config import KINDS
from hegui.cases.store import OPEN_STATES, china_day
from hegui.cases.tables import CaseRow
from hegui.records.audit import utc_now

HOURS_BUCKETS: tuple[float, ...] = (1, 4, 24, 72, 24 * 7, 24 * 14, 24 * 21, 24 * 30)
_FMT = "%Y-%m-%dT%H:%M:%S.%fZ"


class CasesCollector(Collector):
    def __init__(self, engine: Engine, today: Callable[[], date] | None = None) -> None:
        self._engine = engine
        self._today = today or (lambda: china_day(utc_now()))

    def collect(self) -> Iterator[GaugeMetricFamily | HistogramMetricFamily]:
        c = CaseRow
        today = self._today().isoformat()
        with self._engine.connect() as conn:
            open_ = dict(
                conn.execute(
                    select(c.kind, func.count()).where(c.state.in_(OPEN_STATES)).group_by(c.kind)
                ).all()
            )
            late = dict(
                conn.execute(
                    select(c.kind, func.count())
                    .where(c.state.in_(OPEN_STATES) & (c.due_date < today))
                    .group_by(c.kind)
                ).all()
            )
            answered = conn.execute(
                select(c.kind, c.received_at, c.answered_at).where(c.answered_at.is_not(None))
            ).all()
        g_open = GaugeMetricFamily("hegui_cases_open", "Cases not yet answered, by kind.", labels=["kind"])
        g_late = GaugeMetricFamily(
            "hegui_cases_overdue", "Open cases past their due date, by kind.", labels=["kind"]
        )
        for kind in KINDS:
            g_open.add_metric([kind], int(open_.get(kind, 0)))
            g_late.add_metric([kind], int(late.get(kind, 0)))
        yield g_open
        yield g_late
        hist = HistogramMetricFamily(
            "hegui_cases_time_to_answer_hours",
            "Hours from receipt to answer of answered cases.",
            labels=["kind"],
        )
        for kind in KINDS:
            hours = [
                (datetime.strptime(a, _FMT) - datetime.strptime(r, _FMT)).total_seconds() / 3600
                for k, r, a in answered
                if k == kind and a is not None
            ]
            buckets = [(str(b), sum(1 for h in hours if h <= b)) for b in HOURS_BUCKETS]
            buckets.append(("+Inf", len(hours)))
            hist.add_metric([kind], buckets, sum_value=sum(hours))
        yield hist
