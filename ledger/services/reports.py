"""Reports per compound and period, for subdistrict staff."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ledger.domain.errors import InvalidInput, NotFound
from ledger.domain.leaderboard import percent_text, ratio
from ledger.store import boards as board_store
from ledger.store import registry as registry_store
from ledger.store import reports as store
from ledger.store.replica import on_replica
from ledger.store.tables import Community

REPORT_DAYS_MAX = 366


@on_replica
async def compound_report(community_id: int, first: date, last: date) -> dict[str, Any]:
    """One row per compound for local days first..last (both included)."""
    name = await _check(community_id, first, last)
    end = last + timedelta(days=1)
    compounds = await board_store.compounds_of(community_id)
    graded = await board_store.grades(community_id, first, end)
    taking_part = await board_store.participants(community_id, first, end)
    issued = await store.issued(community_id, first, end)
    flows = await store.flows(community_id, first, end)
    held = await store.outstanding(community_id, end)
    minutes = await store.volunteer_minutes(community_id, first, end)
    rows = [
        _row(
            cid,
            info,
            graded.get(cid, (0, 0)),
            taking_part.get(cid, 0),
            issued.get(cid, 0),
            flows.get(cid, {}),
            held.get(cid, 0),
            minutes.get(cid, 0),
        )
        for cid, info in compounds.items()
    ]
    stock = await store.reward_stock(community_id)
    return {
        "community_id": community_id,
        "community": name,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "rows": rows,
        "reward_stock": stock,
    }


@on_replica
async def trends(community_id: int, first: date, last: date) -> dict[str, Any]:
    """Accuracy and participation per local day across the community."""
    await _check(community_id, first, last)
    end = last + timedelta(days=1)
    households = sum(
        c["households"] for c in (await board_store.compounds_of(community_id)).values()
    )
    grades = {
        str(r["local_day"]): (int(r["good"]), int(r["graded"]))
        for r in await store.daily_grades(community_id, first, end)
    }
    taking_part = {
        str(r["local_day"]): int(r["households"])
        for r in await store.daily_participants(community_id, first, end)
    }
    days = [(first + timedelta(days=n)).isoformat() for n in range((end - first).days)]
    return {
        "days": days,
        "accuracy": [float(ratio(*grades.get(d, (0, 0)))) for d in days],
        "participation": [float(ratio(taking_part.get(d, 0), households)) for d in days],
    }


async def check_period(community_id: int, first: date, last: date) -> str:
    """The community's name, once the period and the community are found good (every report)."""
    return await _check(community_id, first, last)


async def _check(community_id: int, first: date, last: date) -> str:
    """The community's name, once the period and the community are found good."""
    if last < first or (last - first).days >= REPORT_DAYS_MAX:
        raise InvalidInput("to", f"must be on or after `from`, within {REPORT_DAYS_MAX} days")
    community = await registry_store.get(Community, community_id)
    if community is None:
        raise NotFound("community", community_id)
    return str(community["name"])


def _row(
    compound_id: int,
    info: dict[str, Any],
    graded: tuple[int, int],
    participants: int,
    issued: int,
    flows: dict[str, int],
    held: int,
    minutes: int,
) -> dict[str, Any]:
    grades, good = graded
    return {
        "compound_id": compound_id,
        "compound": info["name"],
        # residential, shop_street or office_building: a street's or building's row counts
        # its shops or offices where a compound's counts its households.
        "kind": info["kind"],
        "households": info["households"],
        "participating_households": participants,
        "participation_rate": percent_text(ratio(participants, info["households"])),
        "grades": grades,
        "good_grades": good,
        "accuracy_rate": percent_text(ratio(good, grades)),
        "points_issued": issued,
        "points_redeemed": -flows.get("redemption", 0),
        "points_reversed": flows.get("reversal", 0),
        "points_paid_to_merchants": -flows.get("payment", 0),
        "points_expired": -flows.get("expiry", 0),
        "points_outstanding": held,
        "volunteer_minutes": minutes,
    }
