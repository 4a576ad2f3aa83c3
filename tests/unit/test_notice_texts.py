"""Every kind of notice reads as one sentence in each language, with no word of the other
language and no phone number in clear."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.pages.i18n import speaking
from api.pages.notice_texts import TEXTS, notice_text, texts_in_every_language
from ledger.domain.notices import NoticeKind

EXAMPLES: list[dict[str, Any]] = [
    {
        "kind": "appeal_decided",
        "outcome": "upheld",
        "stream": "kitchen",
        "graded_on": "2026-12-01",
        "new_grade": "good",
    },
    {
        "kind": "appeal_decided",
        "outcome": "rejected",
        "stream": "recyclable",
        "graded_on": "2026-12-01",
    },
    {
        "kind": "shift_decided",
        "outcome": "approved",
        "day": "2026-12-02",
        "minutes": 90,
        "points_awarded": 15,
    },
    {"kind": "shift_decided", "outcome": "declined", "day": "2026-12-02", "minutes": 90},
    {"kind": "points_expiring", "points": 60, "expires_on": "2027-12-31", "within_days": 30},
    {"kind": "member_joined", "display_name": "13812345678", "helper": False},
    {"kind": "member_joined", "display_name": "", "helper": True},
    {"kind": "spent", "spent_on": "redemption", "reward": "洗洁精", "quantity": 2, "points": 60},
    {"kind": "spent", "spent_on": "payment", "merchant": "卖鱼桥菜场", "points": 20},
    {"kind": "card_reissued"},
]
DATA = ("洗洁精", "卖鱼桥菜场")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def test_every_kind_has_a_text_and_an_example() -> None:
    assert set(TEXTS) == set(NoticeKind)
    assert {example["kind"] for example in EXAMPLES} == set(NoticeKind)


@pytest.mark.parametrize("notice", EXAMPLES, ids=lambda n: f"{n['kind']}-{len(str(n))}")
def test_a_notice_speaks_each_language(notice: dict[str, Any]) -> None:
    with speaking("zh_CN"):
        chinese = notice_text(notice)
    with speaking("en"):
        english = notice_text(notice)
    assert texts_in_every_language(notice) == {"zh_CN": chinese, "en": english}
    assert LATIN_WORD.findall(chinese) == [], chinese
    for data in DATA:
        english = english.replace(data, "")
    assert CJK.findall(english) == [], english
    for text in (chinese, english):
        assert "13812345678" not in text


def test_a_joined_member_is_shown_masked() -> None:
    with speaking("en"):
        text = notice_text({"kind": "member_joined", "display_name": "13812345678"})
    assert text == "138****5678 joined your household."


def test_a_timestamp_in_other_digits_fails_the_signature_check_without_raising() -> None:
    from datetime import UTC, datetime

    from ledger.domain.notices import signature_valid

    now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    assert not signature_valid(b"k" * 32, "²", b"{}", "sha256=00", now)
