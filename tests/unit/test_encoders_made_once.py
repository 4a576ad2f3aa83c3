"""JSON encoders made once at import (json.dumps with options builds one per call). Those whose
text is hashed (fingerprints, the chain) or shown (an event's inputs in the audit log) give the
text json.dumps gave, byte for byte; those of stored outcomes and board facts, which are only
ever parsed, are msgspec's: keys sorted, compact, and the same values when read back."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, date, datetime
from decimal import Decimal

from ledger.domain import chain
from ledger.domain.idempotency import fingerprint
from ledger.store import facts, idempotency


def _values(rng: random.Random) -> list[object]:
    texts = ["", "a", "绿账", 'say "hi"\n', "\u2028", "ſ", "k\u212a", "😀", "\\", "null"]
    return [
        {"b": 1, "a": [1, 2.5, None, True], "中": "文", "z": {"y": rng.choice(texts)}},
        {"when": datetime(2026, 12, 6, 1, 2, 3, tzinfo=UTC), "day": date(2026, 12, 6)},
        {"n": Decimal("1.10"), "big": 2**70, "neg": -0.0, "t": rng.choice(texts)},
        [rng.choice(texts), rng.randint(-(10**9), 10**9), None],
        {},
    ]


def test_the_made_once_encoders_write_what_json_dumps_wrote() -> None:
    rng = random.Random("encoders")
    for _ in range(50):
        for value in _values(rng):
            plain = value if not _needs_default(value) else None
            if plain is not None:
                compact = json.dumps(
                    plain, ensure_ascii=False, sort_keys=True, separators=(",", ":")
                )
                assert idempotency._RESULT_JSON.encode(plain).decode() == compact
                assert json.loads(compact) == plain
                if isinstance(plain, dict):
                    assert facts.payload_text(plain) == compact
                assert chain._CANONICAL.encode(plain) == json.dumps(
                    plain, ensure_ascii=False, separators=(",", ":")
                )
            assert idempotency._INPUTS_JSON.encode(value) == json.dumps(
                value, ensure_ascii=False, sort_keys=True, default=str
            )


def test_a_fingerprint_is_the_hash_of_the_same_canonical_text() -> None:
    inputs = {"household": "绿-1", "when": datetime(2026, 12, 6, tzinfo=UTC), "n": [3, 1]}
    canonical = json.dumps(
        {"operation": "redemption", "actor": "张三", "inputs": inputs},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    expected = hashlib.sha256(canonical.encode()).hexdigest()
    assert fingerprint("redemption", "张三", inputs) == expected


def _needs_default(value: object) -> bool:
    try:
        json.dumps(value)
    except TypeError:
        return True
    return False
