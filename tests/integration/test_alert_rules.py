"""deploy/prometheus/alerts.yml (issue 17 item 1): valid for `promtool check rules`, and each
alert fires on the series it is about (and not on a healthy service) in `promtool test rules`.

promtool comes from Debian's `prometheus` package (.ci/run installs it). Without it the tests
skip, unless GREENLEDGER_REQUIRE_SERVICES=1 (CI), where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ALERTS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"
PROMTOOL = shutil.which("promtool")
REQUIRED = os.environ.get("GREENLEDGER_REQUIRE_SERVICES") == "1"
LABELS = 'instance="a",job="greenledger"'

if PROMTOOL is None and not REQUIRED:
    pytestmark = pytest.mark.skip(
        reason="promtool is not installed (apt-get install --no-install-recommends prometheus)"
    )


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None, (
        "promtool is required (GREENLEDGER_REQUIRE_SERVICES=1): "
        "apt-get install --no-install-recommends prometheus"
    )
    return subprocess.run(  # noqa: S603 (a fixed tool on our own files)
        [PROMTOOL, *args], capture_output=True, text=True, check=False
    )


def test_the_rules_pass_promtool_check() -> None:
    checked = promtool("check", "rules", str(ALERTS))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 9 rules found" in checked.stdout


def series(name: str, values: str, **labels: str) -> dict[str, str]:
    extra = "".join(f',{key}="{value}"' for key, value in labels.items())
    return {"series": f"{name}{{{LABELS}{extra}}}", "values": values}


# These are summed by job: their alert carries no instance label.
SUMMED = {"GreenledgerServerErrors", "GreenledgerSignInLockoutSpike", "GreenledgerRedisErrors"}


def firing(alert: str, at: str, severity: str, fires: bool = True) -> dict[str, Any]:
    labels = 'job="greenledger"' if alert in SUMMED else LABELS
    expected = f'ALERTS{{alertname="{alert}",alertstate="firing",severity="{severity}",{labels}}}'
    return {
        "expr": f'ALERTS{{alertname="{alert}",alertstate="firing"}}',
        "eval_time": at,
        "exp_samples": [{"labels": expected, "value": 1}] if fires else [],
    }


HEALTHY = [
    series("greenledger_sealer_lag_seconds", "0x30"),
    series("greenledger_projector_lag_seconds", "1x30"),
    series("greenledger_verify_ok", "1x30"),
    series("greenledger_verify_last_run_timestamp_seconds", "1000x30"),
    series("greenledger_http_requests_total", "0+100x30", status="200"),
    series("greenledger_http_requests_total", "0+0x30", status="500"),
    series("greenledger_sign_in_lockouts_total", "0+1x30"),
    series("greenledger_database_up", "1x30"),
    series("greenledger_redis_errors_total", "0x30", where="limiter"),
    series("up", "1x30"),
]

CASES: dict[str, tuple[list[dict[str, str]], list[dict[str, Any]]]] = {
    "a healthy service raises nothing": (
        HEALTHY,
        [
            {"expr": "count(ALERTS) or vector(0)", "eval_time": t, "exp_samples": [{"value": 0}]}
            for t in ("5m", "15m", "29m")
        ],
    ),
    "a sealer a minute behind for two minutes": (
        [series("greenledger_sealer_lag_seconds", "0 30 90 150 210 270 330")],
        [
            firing("GreenledgerSealerLagging", "3m", "page", fires=False),
            firing("GreenledgerSealerLagging", "5m", "page"),
        ],
    ),
    "a projector a minute behind for two minutes": (
        [series("greenledger_projector_lag_seconds", "0 61 121 181 241 301")],
        [
            firing("GreenledgerProjectorLagging", "2m", "ticket", fires=False),
            firing("GreenledgerProjectorLagging", "4m", "ticket"),
        ],
    ),
    "a verify that failed, but not one that never ran": (
        [
            series("greenledger_verify_ok", "0 0 0 1"),
            series("greenledger_verify_last_run_timestamp_seconds", "0 0 500 600"),
        ],
        [
            firing("GreenledgerVerifyFailing", "1m", "page", fires=False),
            firing("GreenledgerVerifyFailing", "2m", "page"),
            firing("GreenledgerVerifyFailing", "3m", "page", fires=False),
        ],
    ),
    "one answer in eleven a 5xx": (
        [
            series("greenledger_http_requests_total", "0+100x30", status="200"),
            series("greenledger_http_requests_total", "0+10x30", status="503"),
        ],
        [firing("GreenledgerServerErrors", "15m", "page")],
    ),
    "fifty lockouts in ten minutes": (
        [series("greenledger_sign_in_lockouts_total", "0+5x30")],
        [firing("GreenledgerSignInLockoutSpike", "15m", "ticket")],
    ),
    "the database gone for a minute": (
        [series("greenledger_database_up", "1 0 0 0 0")],
        [
            firing("GreenledgerDatabaseDown", "1m", "page", fires=False),
            firing("GreenledgerDatabaseDown", "3m", "page"),
        ],
    ),
    "an API unit not scraped for two minutes": (
        [series("up", "1 0 0 0 0 0"), series("greenledger_database_up", "1 1 1 1 1 1")],
        [
            firing("GreenledgerScrapeDown", "2m", "page", fires=False),
            firing("GreenledgerScrapeDown", "4m", "page"),
        ],
    ),
    "no metrics at all for five minutes": (
        # Every scrape dead: no series but `up` (0), so nothing else can alert.
        [series("up", "0x10")],
        [
            {
                "expr": 'ALERTS{alertname="GreenledgerMetricsAbsent",alertstate="firing"}',
                "eval_time": t,
                "exp_samples": [
                    {
                        "labels": 'ALERTS{alertname="GreenledgerMetricsAbsent",'
                        'alertstate="firing",severity="page"}',
                        "value": 1,
                    }
                ]
                if fires
                else [],
            }
            for t, fires in (("4m", False), ("6m", True))
        ],
    ),
    "Redis failing for ten minutes": (
        [series("greenledger_redis_errors_total", "0+3x30", where="limiter")],
        [firing("GreenledgerRedisErrors", "20m", "ticket")],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_alert_fires_on_what_it_is_about(case: str, tmp_path: Path) -> None:
    inputs, expectations = CASES[case]
    test = {
        "rule_files": [str(ALERTS)],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": inputs, "promql_expr_test": expectations}],
    }
    path = tmp_path / "alerts.test.yml"
    path.write_text(json.dumps(test))  # JSON is YAML
    tested = promtool("test", "rules", str(path))
    assert tested.returncode == 0, tested.stdout + tested.stderr
