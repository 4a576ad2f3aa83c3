"""The pages' catalogs: every Chinese entry translated, and in step with the source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from api.pages import i18n

ROOT = Path(__file__).resolve().parents[2]
ZH_CN = ROOT / "api" / "locales" / "zh_CN" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _catalog() -> list[object]:
    with ZH_CN.open("rb") as po_file:
        return [message for message in read_po(po_file, locale="zh_CN") if message.id]


def _texts(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def test_every_chinese_entry_is_translated_and_not_fuzzy() -> None:
    problems = [
        message.id
        for message in _catalog()
        if message.fuzzy or not all(_texts(message.string)) or not message.string
    ]
    assert problems == []


def test_translations_keep_the_placeholders_of_their_message() -> None:
    for message in _catalog():
        wanted = set(PLACEHOLDER.findall(" ".join(_texts(message.id))))
        for text in _texts(message.string):
            assert set(PLACEHOLDER.findall(text)) == wanted, message.id


def test_the_catalog_holds_exactly_the_messages_in_the_source() -> None:
    """`pybabel extract` then `pybabel update` (babel.cfg) after changing page text."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    in_source = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(ROOT, method_map, options_map)
    }
    in_catalog = {_texts(message.id)[0] for message in _catalog()}
    assert sorted(in_source - in_catalog) == [], "untranslated: run pybabel extract + update"
    assert sorted(in_catalog - in_source) == [], "obsolete entries: run pybabel update"


@pytest.mark.parametrize(
    ("tag", "locale"),
    [("zh", "zh_CN"), ("zh-CN", "zh_CN"), ("zh-Hans-CN", "zh_CN"), ("en-GB", "en"), ("fr", None)],
)
def test_language_tags_map_to_the_two_catalogs(tag: str, locale: str | None) -> None:
    assert i18n.normalize(tag) == locale


def test_accept_language_takes_the_best_known_language() -> None:
    assert i18n.from_accept_language("fr;q=0.9, en;q=0.8, zh;q=0.5") == "en"
    assert i18n.from_accept_language("*, de") is None


def test_python_and_templates_read_the_same_catalog() -> None:
    token = i18n.current_locale.set("zh_CN")
    try:
        assert i18n._("Sign in") == "登录"
        assert i18n._("Points: %(points)s", points=5) == "积分：5"
        assert "%%" not in i18n._("Accuracy and participation by day, in percent")
    finally:
        i18n.current_locale.reset(token)
    assert i18n._("Sign in") == "登录"  # the default
