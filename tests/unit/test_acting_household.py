"""Which household a person of several acts for, and how a helper's acts are labelled
(issue 15, item 2); join codes as typed from the card sheet."""

from __future__ import annotations

import pytest

from ledger.domain.access import Principal, Role, acting_household, helper_label, labelled
from ledger.domain.errors import Forbidden, HouseholdAmbiguous, InvalidInput
from ledger.domain.phones import check_join_code, draw_join_code

LIVES_IN_1_HELPS_2 = Principal(
    user_id=7,
    username="pin-abc",
    role=Role.RESIDENT,
    household_id=1,
    household_ids=frozenset({1, 2}),
    helping=frozenset({2}),
    display_name="小王",
)


def test_several_households_need_one_named() -> None:
    with pytest.raises(HouseholdAmbiguous) as refused:
        acting_household(LIVES_IN_1_HELPS_2)
    assert refused.value.extra == {"field": "household_id", "choices": [1, 2]}
    assert acting_household(LIVES_IN_1_HELPS_2, 2) == 2
    with pytest.raises(Forbidden):
        acting_household(LIVES_IN_1_HELPS_2, 3)


def test_one_household_is_acted_for_unnamed_even_from_a_token_before_issue_15() -> None:
    old_token = Principal(user_id=8, username="r", role=Role.RESIDENT, household_id=5)
    assert acting_household(old_token) == 5
    with pytest.raises(Forbidden):
        acting_household(Principal(user_id=9, username="c", role=Role.CLERK))


def test_only_what_a_helper_does_for_a_helped_household_is_labelled() -> None:
    assert helper_label(LIVES_IN_1_HELPS_2, 2) == "by helper 小王"
    assert helper_label(LIVES_IN_1_HELPS_2, 1) == ""
    assert labelled("垃圾袋一卷 × 1", LIVES_IN_1_HELPS_2, 2) == "垃圾袋一卷 × 1 (by helper 小王)"
    assert labelled("垃圾袋一卷 × 1", LIVES_IN_1_HELPS_2, 1) == "垃圾袋一卷 × 1"


@pytest.mark.parametrize(("typed", "code"), [("482916", "482916"), ("482 916", "482916")])
def test_a_join_code_is_six_digits_as_printed(typed: str, code: str) -> None:
    assert check_join_code(typed) == code


@pytest.mark.parametrize("typed", ["", "48291", "4829167", "48291a", "４８２９１６"])
def test_anything_else_is_refused_naming_the_field(typed: str) -> None:
    with pytest.raises(InvalidInput, match=r"^join_code: "):
        check_join_code(typed)


def test_drawn_codes_are_six_digits() -> None:
    codes = {draw_join_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 150
