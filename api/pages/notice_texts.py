"""A notice as one sentence in the reader's language (the API's `text`, the inbox, the webhook).

No phone number is ever shown in clear (names are masked where the notice was made, and again
here); no room or building is named: a notice can be forwarded by SMS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.pages.i18n import LOCALES, _, local_date, number, speaking
from api.pages.messages import grade_name, stream_name
from ledger.domain.notices import NoticeKind, mask_phones


def _appeal(notice: dict[str, Any]) -> str:
    values = {
        "stream": stream_name(notice.get("stream", "")),
        "day": local_date(notice["graded_on"]) if notice.get("graded_on") else "",
    }
    if notice.get("outcome") == "upheld":
        grade = grade_name(notice.get("new_grade", ""))
        return _(
            "Your appeal of the %(stream)s grade of %(day)s was upheld: the grade is now "
            "%(grade)s.",
            grade=grade,
            **values,
        )
    return _("Your appeal of the %(stream)s grade of %(day)s was rejected.", **values)


def _shift(notice: dict[str, Any]) -> str:
    values = {
        "day": local_date(notice["day"]) if notice.get("day") else "",
        "minutes": number(notice.get("minutes", 0)),
    }
    if notice.get("outcome") == "approved":
        return _(
            "Your shift of %(day)s (%(minutes)s minutes) was approved: %(points)s points.",
            points=number(notice.get("points_awarded", 0)),
            **values,
        )
    return _("Your shift of %(day)s (%(minutes)s minutes) was declined.", **values)


def _expiring(notice: dict[str, Any]) -> str:
    return _(
        "%(points)s points expire within %(days)s days (the first on %(day)s): spend them "
        "before then.",
        points=number(notice.get("points", 0)),
        days=notice.get("within_days", 30),
        day=local_date(notice["expires_on"]) if notice.get("expires_on") else "",
    )


def _joined(notice: dict[str, Any]) -> str:
    name = mask_phones(str(notice.get("display_name") or "")) or _("A new member")
    if notice.get("helper"):
        return _("%(name)s joined your household as a helper.", name=name)
    return _("%(name)s joined your household.", name=name)


def _spent(notice: dict[str, Any]) -> str:
    points = number(notice.get("points", 0))
    if notice.get("spent_on") == "payment":
        return _(
            "%(points)s points were paid to %(merchant)s from your household's account.",
            points=points,
            merchant=mask_phones(str(notice.get("merchant", ""))),
        )
    return _(
        "%(points)s points were redeemed for %(reward)s × %(quantity)s from your household's "
        "account.",
        points=points,
        reward=mask_phones(str(notice.get("reward", ""))),
        quantity=notice.get("quantity", 1),
    )


def _card(notice: dict[str, Any]) -> str:
    return _("Your household card was re-issued: the old card no longer works.")


TEXTS: dict[str, Callable[[dict[str, Any]], str]] = {
    NoticeKind.APPEAL_DECIDED: _appeal,
    NoticeKind.SHIFT_DECIDED: _shift,
    NoticeKind.POINTS_EXPIRING: _expiring,
    NoticeKind.MEMBER_JOINED: _joined,
    NoticeKind.SPENT: _spent,
    NoticeKind.CARD_REISSUED: _card,
}


def notice_text(notice: dict[str, Any]) -> str:
    """In the language of the request (`?lang=`, the cookie, Accept-Language; else Chinese)."""
    return TEXTS[notice["kind"]](notice)


def with_text(notice: dict[str, Any]) -> dict[str, Any]:
    return notice | {"text": notice_text(notice)}


def texts_in_every_language(notice: dict[str, Any]) -> dict[str, str]:
    """For the webhook: the text in each language the pages speak (zh_CN, en)."""
    texts = {}
    for locale in LOCALES:
        with speaking(locale):
            texts[locale] = notice_text(notice)
    return texts
