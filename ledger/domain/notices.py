"""Notices: what a person hears back, and how a notice is signed for the outbound webhook.

A notice is made from one source event (an audited write, or the expiry job's weekly warning)
and is addressed to a household (every member hears it) or to a volunteer. Its id is the
sequence number the sealer gave the notice fact written with the event, so it is the same after
a rebuild and a receiver can de-duplicate by it (docs/decisions/2026-12-06-notices.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from ledger.domain.phones import mask_phone


class NoticeKind(StrEnum):
    APPEAL_DECIDED = "appeal_decided"
    SHIFT_DECIDED = "shift_decided"
    POINTS_EXPIRING = "points_expiring"
    MEMBER_JOINED = "member_joined"
    SPENT = "spent"
    CARD_REISSUED = "card_reissued"


# The audit event the join service records when someone joins a household (issue 15, item 1).
MEMBER_JOINED_EVENT = "household.member_joined"

# Points expiring within this many days are warned of, at most once every WARNING_INTERVAL.
EXPIRING_WITHIN_DAYS = 30
WARNING_INTERVAL = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Draft:
    """A notice before it is numbered: its source, whom it is for, and its kind's fields.

    `source` names the event it comes from and is unique among notices (the second write of
    the same source is dropped); `subject_user_id` is the member a `member_joined` notice is
    about, who does not get it."""

    kind: NoticeKind
    source: str
    fields: dict[str, Any] = field(default_factory=dict)
    household_id: int | None = None
    volunteer_id: int | None = None
    subject_user_id: int | None = None


_MOBILE_IN_TEXT = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def mask_phones(text: str) -> str:
    """Every mainland mobile number in `text` shown as 138****5678."""
    return _MOBILE_IN_TEXT.sub(lambda found: mask_phone(found[0]), text)


def warning_due(last_warned: datetime | None, now: datetime) -> bool:
    """A household hears of expiring points at most once a week."""
    return last_warned is None or now - last_warned >= WARNING_INTERVAL


def expiring_source(household_id: int, today: date) -> str:
    """One warning per household and day at most, whoever runs the job how often."""
    return f"points_expiring:{household_id}:{today.isoformat()}"


# The webhook: each notice POSTed as JSON, signed over "<timestamp>.<raw body>".
SIGNATURE_HEADER = "X-Greenledger-Signature"
TIMESTAMP_HEADER = "X-Greenledger-Timestamp"
NOTICE_ID_HEADER = "X-Greenledger-Notice-Id"
SIGNATURE_TOLERANCE_SECONDS = 300
BACKOFF_FIRST_SECONDS = 5
BACKOFF_MAX_SECONDS = 3600


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The value of the signature header: `sha256=` and the hex HMAC-SHA256 of
    `<timestamp>.<body>` under the shared secret."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signature_valid(secret: bytes, timestamp: str, body: bytes, header: str, now: datetime) -> bool:
    """The receiver's check: a fresh timestamp (within SIGNATURE_TOLERANCE_SECONDS of `now`,
    against replays) and a matching signature, compared in constant time."""
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    sent = int(timestamp)
    if abs(now.timestamp() - sent) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, sent, body), header)


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed delivery: 5 s, 10 s, 20 s, … up to an
    hour, then every hour until the receiver takes it."""
    exponent = min(max(attempts - 1, 0), 20)
    return timedelta(seconds=min(BACKOFF_FIRST_SECONDS * 2**exponent, BACKOFF_MAX_SECONDS))
