"""Changes staged on a night that the incremental facts did not re-process: reported from night
to night until a backfill from their day or a full refresh takes them in."""

from __future__ import annotations

from datetime import date

from governance.reprocessing import UnprocessedChanges, still_pending

EARLIER = [
    {"table": "orders", "records": 3, "earliest_day": "2026-02-03", "night": "2026-06-28"},
    {"table": "listings", "records": 1, "earliest_day": "2026-04-10", "night": "2026-06-29"},
]


def test_an_incremental_night_carries_every_earlier_report_forward():
    kept = still_pending(EARLIER, reprocessed_from=None, full_refresh=False)
    assert kept == [UnprocessedChanges(**e) for e in EARLIER]


def test_a_backfill_clears_the_changes_from_its_first_day_on():
    kept = still_pending(EARLIER, reprocessed_from=date(2026, 3, 1), full_refresh=False)
    assert [u.table for u in kept] == ["orders"]  # 2026-02-03 is before the backfill
    assert still_pending(EARLIER, date(2026, 2, 3), full_refresh=False) == []


def test_a_full_refresh_clears_everything():
    assert still_pending(EARLIER, reprocessed_from=None, full_refresh=True) == []


def test_the_message_names_the_table_the_night_and_the_backfill_to_run():
    change = UnprocessedChanges(**EARLIER[0])
    assert change.message() == (
        "3 orders record(s) changed on night 2026-06-28 on days the incremental facts did not "
        "re-process (earliest 2026-02-03): the facts and metrics take them in after "
        "`governance backfill --from 2026-02-03` or `governance nightly --full-refresh`"
    )
