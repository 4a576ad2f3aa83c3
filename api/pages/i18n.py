"""Page language and text size: Babel catalogs read once, the language per request in a ContextVar.

English msgids, Simplified Chinese the default. One Jinja environment serves every request, so
the gettext callables are installed once and look the language up in the ContextVar that
`PreferencesMiddleware` sets; they never swap per request (concurrent requests would then
read each other's language).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from ledger.domain.localtime import LOCAL_ZONE

LOCALES_DIR = Path(__file__).resolve().parents[1] / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "zh_CN"
LOCALES = ("zh_CN", "en")
LANG_COOKIE = "lang"
LARGE_COOKIE = "large"
PREFERENCE_MAX_AGE = 365 * 24 * 3600


def _load(locale: str) -> NullTranslations:
    """The catalog compiled in memory from its .po file: nothing to build before `make run`."""
    po_path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return NullTranslations()  # English: the msgids are the text
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


CATALOGS: dict[str, NullTranslations] = {locale: _load(locale) for locale in LOCALES}
current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)
large_text: ContextVar[bool] = ContextVar("large_text", default=False)


def _lookup(message: str) -> str:
    return CATALOGS[current_locale.get()].gettext(message)


def _lookup_plural(singular: str, plural: str, n: int) -> str:
    return CATALOGS[current_locale.get()].ngettext(singular, plural, n)


def _lookup_context(context: str, message: str) -> str:
    return str(CATALOGS[current_locale.get()].pgettext(context, message))


def _lookup_context_plural(context: str, singular: str, plural: str, n: int) -> str:
    return str(CATALOGS[current_locale.get()].npgettext(context, singular, plural, n))


def gettext(message: str, **variables: Any) -> str:
    """For Python code: the translation, with `%(name)s` filled from `variables`. Always
    %-formatted, as Jinja's new-style gettext does, so a literal percent sign is `%%` in
    every catalog whether a template or Python code uses the message."""
    return _lookup(message) % variables


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    return _lookup_plural(singular, plural, n) % ({"num": n} | variables)


def pgettext(context: str, message: str, **variables: Any) -> str:
    """The translation of `message` in `context`: one English word can need several Chinese
    ones ("Open": an appeal 待处理, a shift 进行中, the button 打开)."""
    return _lookup_context(context, message) % variables


_ = gettext


def normalize(tag: str | None) -> str | None:
    """'zh', 'zh-CN', 'zh-Hans-CN' -> 'zh_CN'; 'en-GB' -> 'en'; anything else -> None."""
    if not tag:
        return None
    try:
        language = Locale.parse(tag.strip().replace("-", "_")).language
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    return {"zh": "zh_CN", "en": "en"}.get(language)


def from_accept_language(header: str) -> str | None:
    tags: list[tuple[float, str]] = []
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        params = params.strip()
        try:
            quality = float(params[2:]) if params.startswith("q=") else 1.0
        except ValueError:
            quality = 0.0
        if tag and tag != "*" and quality > 0:
            tags.append((quality, tag))
    for _quality, tag in sorted(tags, key=lambda item: -item[0]):
        if (locale := normalize(tag)) is not None:
            return locale
    return None


def _switch(value: str | None) -> bool | None:
    return {"1": True, "on": True, "0": False, "off": False}.get(value or "")


@dataclass(frozen=True, slots=True)
class Preferences:
    """A request's language and text size, and whether its query asked to change them."""

    locale: str
    large: bool
    locale_from_query: str | None = None
    large_from_query: bool | None = None


def preferences_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Preferences:
    """Language: `?lang=` (kept in a cookie) > cookie > Accept-Language > zh_CN.
    Large text: `?large=1|0` (kept in a cookie) > cookie."""
    from_query = normalize(connection.query_params.get("lang"))
    locale = (
        from_query
        or normalize(connection.cookies.get(LANG_COOKIE))
        or from_accept_language(connection.headers.get("accept-language", ""))
        or DEFAULT_LOCALE
    )
    large_from_query = _switch(connection.query_params.get("large"))
    large = (
        large_from_query
        if large_from_query is not None
        else connection.cookies.get(LARGE_COOKIE) == "1"
    )
    return Preferences(locale, large, from_query, large_from_query)


@contextlib.contextmanager
def speaking(locale: str, large: bool = False) -> Iterator[None]:
    """Gettext and the templates in `locale` for the block: for code that runs where
    `PreferencesMiddleware` did not (an error raised before any route was found)."""
    locale_token = current_locale.set(locale)
    large_token = large_text.set(large)
    try:
        yield
    finally:
        current_locale.reset(locale_token)
        large_text.reset(large_token)


# What a request that says nothing about its language or text size gets (an API client's).
_UNSTATED = Preferences(DEFAULT_LOCALE, False)
_STATING_HEADERS = frozenset({b"cookie", b"accept-language"})


def _states_preferences(scope: Scope) -> bool:
    """Whether `preferences_of` could find anything but `_UNSTATED` in this request: a
    cookie, an Accept-Language header, or `lang`/`large` in the query (or a percent-escape,
    which could spell either). Raw bytes, no parsing: a false "yes" only costs the full reading."""
    query = scope.get("query_string", b"")
    if b"lang" in query or b"large" in query or b"%" in query:
        return True
    return any(name.lower() in _STATING_HEADERS for name, _ in scope["headers"])


class PreferencesMiddleware(ASGIMiddleware):
    """Sets the request's `preferences_of` for gettext and the templates, and keeps a choice
    made in the query in a cookie."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        # A request stating nothing gets what preferences_of would answer, without parsing.
        stated = _states_preferences(scope)
        chosen = preferences_of(ASGIConnection(scope)) if stated else _UNSTATED

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers.add("Vary", "Cookie, Accept-Language")
                if chosen.locale_from_query:
                    headers.add("Set-Cookie", _preference(LANG_COOKIE, chosen.locale_from_query))
                if chosen.large_from_query is not None:
                    value = "1" if chosen.large else "0"
                    headers.add("Set-Cookie", _preference(LARGE_COOKIE, value))
            await send(message)

        with speaking(chosen.locale, chosen.large):
            await next_app(scope, receive, send_wrapper)


def _preference(key: str, value: str) -> str:
    cookie = Cookie(
        key=key, value=value, max_age=PREFERENCE_MAX_AGE, samesite="lax", httponly=True, path="/"
    )
    return cookie.to_header(header="")


def local_datetime(moment: datetime | str, style: str = "short") -> str:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return format_datetime(moment.astimezone(LOCAL_ZONE), style, locale=current_locale.get())


def local_date(day: date | str, style: str = "medium") -> str:
    if isinstance(day, str):
        day = date.fromisoformat(day[:10])
    return format_date(day, style, locale=current_locale.get())


def number(value: int | float) -> str:
    return format_decimal(value, locale=current_locale.get())


def configure_jinja(engine: JinjaTemplateEngine) -> None:
    """TemplateConfig(engine_callback=...): gettext once, language from the ContextVar."""
    env = engine.engine
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True
    # Jinja's new-style gettext fills the placeholders itself (escaping them): plain lookups.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _lookup,
        _lookup_plural,
        newstyle=True,
        pgettext=_lookup_context,
        npgettext=_lookup_context_plural,
    )
    env.globals["current_locale"] = current_locale.get
    env.globals["large_text"] = large_text.get
    env.globals["html_lang"] = lambda: current_locale.get().replace("_", "-")
    env.filters["local_datetime"] = local_datetime
    env.filters["local_date"] = local_date
    env.filters["number"] = number
