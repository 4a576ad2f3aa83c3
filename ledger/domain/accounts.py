"""Account kinds and which of them may go below zero."""

from __future__ import annotations

import zlib
from enum import StrEnum


class AccountKind(StrEnum):
    HOUSEHOLD = "household"
    VOLUNTEER = "volunteer"
    MERCHANT = "merchant"
    ISSUANCE = "issuance"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    SETTLED = "settled"


OWNED_KINDS = frozenset({AccountKind.HOUSEHOLD, AccountKind.VOLUNTEER, AccountKind.MERCHANT})
COMMUNITY_KINDS = (
    AccountKind.ISSUANCE,
    AccountKind.REDEEMED,
    AccountKind.EXPIRED,
    AccountKind.SETTLED,
)

# Every credit debits "points issued". One issuance row per community would be a hot row that
# serialises every credit in the community (docs/decisions/2026-11-25-issuance-stripes.md: a
# ledger with one mint row credited slower with 8 workers than with 1). Each community instead has
# ISSUANCE_STRIPES issuance accounts; a credit picks one by its event_id, so concurrent credits
# rarely touch the same row. Their sum is the community's issuance; nothing else changes (they are
# ordinary accounts).
ISSUANCE_STRIPES = 16


def issuance_stripe(event_id: str) -> int:
    """Spread credits over the issuance stripes deterministically by event."""
    return zlib.crc32(event_id.encode()) % ISSUANCE_STRIPES
