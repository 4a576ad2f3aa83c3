"""SVG charts rendered on the server (pygal): text stays text, so phones use their own CJK font."""

from __future__ import annotations

from typing import Any, Literal

# pygal is imported on first use: it installs an old-style import hook that makes every later
# importlib.util.find_spec call warn, so the app only pays for it when a chart is drawn.
FONTS = "'Noto Sans CJK SC','WenQuanYi Micro Hei','PingFang SC','Microsoft YaHei',sans-serif"
COLORS = ("#1f6b34", "#c79a00", "#a11", "#2a6fb0")
_COMMON: dict[str, Any] = {
    "width": 800,
    "height": 400,
    "disable_xml_declaration": True,
    "js": [],  # no external script: closed network, privacy, CSP
    "x_label_rotation": 45,
}


def trend_svg(title: str, days: list[str], series: dict[str, list[float]]) -> str:
    """Shares per day as a line chart, in percent."""
    import pygal

    chart = pygal.Line(
        title=title, range=(0, 100), show_minor_x_labels=False, style=_style(), **_COMMON
    )
    chart.x_labels = days
    chart.x_labels_major = days[:: max(len(days) // 10, 1)]
    for name, values in series.items():
        chart.add(name, [round(value * 100, 1) for value in values])
    return str(chart.render(is_unicode=True))


def compounds_svg(title: str, legend: tuple[str, str], rows: list[dict[str, Any]]) -> str:
    """Compounds side by side: accuracy and participation (`legend`, in the page's language),
    in percent."""
    import pygal

    accuracy, participation = legend
    chart = pygal.Bar(title=title, range=(0, 100), style=_style(), **_COMMON)
    chart.x_labels = [row["compound"] for row in rows]
    chart.add(accuracy, [_percent(row["good_grades"], row["grades"]) for row in rows])
    chart.add(
        participation,
        [_percent(row["participating_households"], row["households"]) for row in rows],
    )
    return str(chart.render(is_unicode=True))


def months_svg(
    kind: Literal["bar", "line"], title: str, months: list[str], series: dict[str, list[int]]
) -> str:
    """Points by month, one series a bar side by side (`kind` "bar": the books' issued and used
    points) or a line (`kind` "line": what is owed at each month's end)."""
    import pygal

    chart = {"bar": pygal.Bar, "line": pygal.Line}[kind](title=title, style=_style(), **_COMMON)
    chart.x_labels = months
    for name, values in series.items():
        chart.add(name, values)
    return str(chart.render(is_unicode=True))


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _style() -> Any:
    from pygal.style import Style

    return Style(font_family=FONTS, colors=COLORS)
