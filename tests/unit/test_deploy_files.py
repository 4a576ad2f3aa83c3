"""deploy/ (issue 17, item 5): the systemd units pass `systemd-analyze verify` (bar the
binaries, which exist only on the target machine) and the shell scripts parse. The nginx site
and the backup job are run for real elsewhere (tests/integration/test_nginx_front.py,
`make drill`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = [
    "greenledger-api@8001.service",  # an instance of greenledger-api@.service
    "greenledger-work.service",
    "greenledger.target",
    "greenledger-basebackup.service",
    "greenledger-basebackup.timer",
]
ABSENT_HERE = ("is not executable: No such file or directory",)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_the_systemd_units_verify(tmp_path: Path) -> None:
    for unit in (DEPLOY / "systemd").iterdir():
        shutil.copy(unit, tmp_path / unit.name)
    shutil.copy(tmp_path / "greenledger-api@.service", tmp_path / "greenledger-api@8001.service")
    done = subprocess.run(  # noqa: S603
        [str(shutil.which("systemd-analyze")), "verify", "--man=no", *UNITS],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    problems = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if line.strip() and not any(absent in line for absent in ABSENT_HERE)
    ]
    assert problems == []


@pytest.mark.parametrize("script", ["greenledger", "backup/greenledger-basebackup"])
def test_the_scripts_parse_and_are_executable(script: str) -> None:
    path = DEPLOY / script
    assert path.stat().st_mode & 0o111
    subprocess.run(["/bin/sh", "-n", str(path)], check=True, timeout=30)  # noqa: S603


def test_the_units_run_what_the_docs_say() -> None:
    api = (DEPLOY / "systemd" / "greenledger-api@.service").read_text()
    assert "greenledger serve --host 127.0.0.1 --port %i" in api
    assert "--no-background" in api
    assert (
        "ExecStart=/opt/greenledger/venv/bin/greenledger work"
        in (DEPLOY / "systemd" / "greenledger-work.service").read_text()
    )
    site = (DEPLOY / "nginx" / "greenledger.conf").read_text()
    assert "server 127.0.0.1:8001;" in site
    assert "server 127.0.0.1:8002;" in site
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in site
    directives = [line.strip() for line in site.splitlines() if not line.strip().startswith("#")]
    assert not [line for line in directives if "proxy_add_x_forwarded_for" in line]
