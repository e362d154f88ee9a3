"""Changes a night staged that its incremental facts did not re-process.

An incremental night re-processes the record-level facts for the lookback window and the days
recent events touch (macros/incremental/windows.sql). Staging, though, takes every change into
account whenever it arrives: a correction of an order placed months ago, an orphan whose parent
arrives late, an appeal filed long after its action. Such a change reaches the facts, and the
metrics, only on a backfill from its day or a full refresh. :func:`unprocessed_changes` finds
them after the night's build, so the night says so instead of publishing stale figures in
silence.

A record "changed tonight" is a staging row the build wrote or re-ranked (its ``processed_at``
is this build's start) and that is staged or superseded: a new version, an earlier version it
replaced (its old values may still be in a fact) or an orphan whose parent arrived. A fact
"re-processed" a day or an action when it holds rows of that day or action written by this
build. Each check lists the changes whose fact rows were not re-written:

* orders (completed, before the reporting cutoff): their order day in
  ``fct_completed_orders``, or the order alone (the fact re-writes the orders delivered again
  on the complaint window's days before its lookback window one by one): a new version
  without a row of the night, a superseded one whose earlier row the fact still holds;
* complaints: the completed orders they count for (placed up to ``complaint_window_days``
  before the complaint) whose fact row does not say what the staged complaints say (the order
  fact examines every order a changed complaint names, whatever its day, and re-writes only
  those whose flag changed, so a day without a row of the night can hold a processed one);
* listings: their creation day in ``int_listing_enforcement_outcomes`` (a night re-writes the
  creation days of the listings it staged, so this check is a safety net; their orders, which
  carry the listing's segment, are re-processed by the order fact whatever their day);
* enforcement actions, and appeals through their action: ``int_enforcement_actions_resolved``.

The check is conservative, but for complaints: a change counts whatever column it changes,
including columns no fact reads (a backfill then changes nothing).

Only the orders' check has a pre-check (``_CANDIDATES``: does any changed record lie where the
check can find one at all?), and on purpose. Its candidates are completed orders changed off
the order days the fact re-wrote: old corrections, none on most nights, while the check reads
every order key of the order fact whatever the candidates (1.4-2.1 s of a medium-tier night
with none, 5.5 s of a large one). The other checks' candidates are the night's new and changed
records, which nearly every night brings (on that medium night: 606 complaints, 6,963
listings, 715 actions, 277 appeals), so a pre-check would run beside the check, not instead
of it; and without candidates each check is already cheap (complaints 11 ms, listings 4 ms,
actions 2 ms, appeals 6 ms). The complaints' pre-check would cost most: finding the changed
complaints of completed orders joins the orders' base model, 0.8-1.0 s of that night, against
1.4-1.5 s for the whole check. Measured on the medium tier's night state (seed 42) with
DuckDB, the median of 7 runs of each query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from governance import metric_registry


def _changed(alias: str) -> str:
    return f"{alias}.processed_at >= $since and {alias}.disposition in ('staged', 'superseded')"


_CUTOFF = "(select max(cutoff_at) from intermediate.int_as_of_date)"
_ORDER_DAYS = (
    "(select distinct ordered_date from semantic.fct_completed_orders where processed_at >= $since)"
)
_ORDERS_WRITTEN = (
    "(select order_id from semantic.fct_completed_orders where processed_at >= $since)"
)
_ORDERS_KEPT = "(select order_id from semantic.fct_completed_orders where processed_at < $since)"
_LISTING_DAYS = (
    "(select distinct created_date from intermediate.int_listing_enforcement_outcomes "
    "where processed_at >= $since)"
)
_ACTIONS = (
    "(select action_id from intermediate.int_enforcement_actions_resolved "
    "where processed_at >= $since)"
)


def complaint_window_days() -> int:
    """Days after an order within which a complaint counts: complaint_rate's window in the metric
    registry, which fct_completed_orders applies (macro complaint_window_days())."""
    return int(metric_registry.load().metric("complaint_rate").window_days)


def checks(complaint_window: int) -> dict[str, str]:
    """Per raw table, the query of the changed records whose fact rows the night did not
    re-write, as (record key, day the backfill must start from)."""
    return {
        table: query.format(complaint_window_days=int(complaint_window))
        for table, query in _CHECKS.items()
    }


# Per raw table, the changed records a check can find at all, without reading a whole fact: a
# night without any skips the check. Orders only: the module's docstring says why.
_CANDIDATES = {
    "orders": f"""
        select orders.order_id, orders.ordered_at, orders.disposition
        from staging.base_marketplace__orders as orders
        where {_changed("orders")}
          and orders.order_status = 'completed' and orders.ordered_at < {_CUTOFF}
          and cast(orders.ordered_at as date) not in {_ORDER_DAYS}
    """,
}

_CHECKS = {
    "orders": f"""
        select orders.order_id as record, cast(orders.ordered_at as date) as day
        from ({_CANDIDATES["orders"]}) as orders
        where orders.order_id not in {_ORDERS_WRITTEN}
          and (orders.disposition = 'staged' or orders.order_id in {_ORDERS_KEPT})
    """,
    "complaints": f"""
        select complaints.complaint_id as record, cast(orders.ordered_at as date) as day
        from staging.base_marketplace__complaints as complaints
        inner join staging.base_marketplace__orders as orders
            on complaints.order_id = orders.order_id
        where orders.disposition = 'staged' and {_changed("complaints")}
          and complaints.created_at < {_CUTOFF}
          and orders.order_status = 'completed'
          and orders.ordered_at <= complaints.created_at
          and complaints.created_at
              <= orders.ordered_at + interval {{complaint_window_days}} day
          and not exists (
              select 1 from semantic.fct_completed_orders as facts
              where facts.order_id = orders.order_id
                and facts.has_complaint_within_14d = exists (
                    select 1 from staging.base_marketplace__complaints as counted
                    where counted.order_id = orders.order_id
                      and counted.disposition = 'staged'
                      and counted.created_at < {_CUTOFF}
                      and orders.ordered_at <= counted.created_at
                      and counted.created_at
                          <= orders.ordered_at + interval {{complaint_window_days}} day
                )
          )
    """,
    "listings": f"""
        select listings.listing_id as record, cast(listings.created_at as date) as day
        from staging.base_marketplace__listings as listings
        where {_changed("listings")} and listings.created_at < {_CUTOFF}
          and cast(listings.created_at as date) not in {_LISTING_DAYS}
    """,
    "enforcement_actions": f"""
        select actions.action_id as record, cast(actions.acted_at as date) as day
        from staging.base_marketplace__enforcement_actions as actions
        where {_changed("actions")}
          and actions.acted_at < {_CUTOFF} and actions.action_id not in {_ACTIONS}
    """,
    "appeals": f"""
        select appeals.appeal_id as record, cast(actions.acted_at as date) as day
        from staging.base_marketplace__appeals as appeals
        inner join staging.base_marketplace__enforcement_actions as actions
            on appeals.action_id = actions.action_id
        where actions.disposition = 'staged' and {_changed("appeals")}
          and appeals.filed_at < {_CUTOFF} and actions.acted_at < {_CUTOFF}
          and appeals.action_id not in {_ACTIONS}
    """,
}


@dataclass(frozen=True)
class UnprocessedChanges:
    """Records of one raw table changed on ``night`` that the facts did not re-process."""

    table: str
    records: int
    earliest_day: str  # YYYY-MM-DD: a backfill from this day takes them in
    night: str | None

    def message(self) -> str:
        return (
            f"{self.records:,} {self.table} record(s) changed on night {self.night} on days "
            f"the incremental facts did not re-process (earliest {self.earliest_day}): the facts "
            f"and metrics take them in after `governance backfill --from {self.earliest_day}` "
            "or `governance nightly --full-refresh`"
        )


def unprocessed_changes(
    con: duckdb.DuckDBPyConnection, since: datetime, night: str | None
) -> list[UnprocessedChanges]:
    """The changes staged by the build that started at ``since`` (UTC, naive) and not
    re-processed by the incremental facts, per raw table (tables with none left out)."""
    con.execute("set enable_progress_bar = false")
    found = []
    for table, query in checks(complaint_window_days()).items():
        candidates = _CANDIDATES.get(table)
        if (
            candidates
            and not con.execute(f"select exists ({candidates})", {"since": since}).fetchone()[0]
        ):
            continue
        records, earliest = con.execute(
            f"select count(distinct record), min(day) from ({query})", {"since": since}
        ).fetchone()
        if records:
            found.append(UnprocessedChanges(table, records, earliest.isoformat(), night))
    return found


def still_pending(
    earlier: list[dict], reprocessed_from: date | None, full_refresh: bool
) -> list[UnprocessedChanges]:
    """The changes earlier nights reported that this night does not take in: all of them,
    but for a full refresh (none) or a backfill from on or before their earliest day."""
    if full_refresh:
        return []
    kept = [UnprocessedChanges(**e) for e in earlier]
    if reprocessed_from is None:
        return kept
    return [e for e in kept if date.fromisoformat(e.earliest_day) < reprocessed_from]
