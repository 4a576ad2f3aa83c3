"""Download file names: a safe ASCII name, and the real one by RFC 5987."""

from __future__ import annotations

from urllib.parse import quote

from api.downloads import content_disposition


def test_a_download_name_is_safe_ascii_with_the_real_name_beside_it() -> None:
    header = content_disposition("report_2026-11-01.csv", '卖鱼桥/"社区";\r\nx_2026-11-01.csv')
    assert header == (
        "attachment; filename=\"report_2026-11-01.csv\"; filename*=UTF-8''"
        + quote("卖鱼桥 社区 x_2026-11-01.csv", safe="")
    )
    assert content_disposition('a b"c.csv', "a-b-c.csv") == 'attachment; filename="a-b-c.csv"'
