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


@pytest.mark.parametrize(
    "script",
    ["greenledger", "backup/greenledger-basebackup", "backup/greenledger-archive-wal"],
)
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


def _tool(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)


def _basebackup(tmp_path: Path, basebackup: str, verify: str) -> subprocess.CompletedProcess[str]:
    """deploy/backup/greenledger-basebackup with stand-ins for PostgreSQL's tools (the real
    ones run in `make drill`)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    _tool(bin_dir, "pg_basebackup", basebackup)
    _tool(bin_dir, "pg_verifybackup", verify)
    _tool(bin_dir, "pg_archivecleanup", 'echo cleaned "$@" >> "$BACKUPS/../cleanup"')
    return subprocess.run(  # noqa: S603 (our own script)
        [str(DEPLOY / "backup" / "greenledger-basebackup")],
        env={"PATH": "/usr/bin:/bin", "BACKUPS": str(tmp_path / "backups"),
             "ARCHIVE": str(tmp_path / "archive"), "PGBIN": str(bin_dir)},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


LABEL = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)"
COPIES = f'mkdir -p "$2" && echo "{LABEL}" > "$2/backup_label"'


@pytest.mark.parametrize(
    ("basebackup", "verify"),
    [
        (COPIES + " && exit 1", "exit 0"),  # pg_basebackup failed half-way
        (COPIES, "echo 'checksum mismatch' >&2; exit 1"),  # the copy does not verify
    ],
)
def test_a_failed_base_backup_leaves_nothing_and_prunes_nothing(
    tmp_path: Path, basebackup: str, verify: str
) -> None:
    backups = tmp_path / "backups"
    old = backups / "base-20261201T031000Z"
    old.mkdir(parents=True)
    (backups / "base-20261130T031000Z.partial").mkdir()  # a crash's leftover
    done = _basebackup(tmp_path, basebackup, verify)
    assert done.returncode != 0
    assert sorted(path.name for path in backups.iterdir()) == [old.name]
    assert not (tmp_path / "cleanup").exists()


def test_a_verified_base_backup_is_kept_and_the_archive_pruned(tmp_path: Path) -> None:
    (tmp_path / "backups").mkdir()
    done = _basebackup(tmp_path, COPIES, 'test -f "$2/backup_label"')
    assert done.returncode == 0, done.stderr
    made = [path.name for path in (tmp_path / "backups").iterdir()]
    assert len(made) == 1
    assert made[0].startswith("base-")
    assert made[0].endswith("Z")
    assert "000000010000000000000002" in (tmp_path / "cleanup").read_text()


def _archive(src: Path, name: str, archive: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own script)
        [str(DEPLOY / "backup" / "greenledger-archive-wal"), str(src), name, str(archive)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_a_wal_segment_is_archived_once_whole(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    segment = tmp_path / "000000010000000000000003"
    segment.write_bytes(b"wal" * 1000)
    assert _archive(segment, segment.name, archive).returncode == 0
    assert [path.name for path in archive.iterdir()] == [segment.name]  # no temporary left
    assert (archive / segment.name).read_bytes() == segment.read_bytes()
    # asked again (a crash before PostgreSQL noted it): the same content is done
    assert _archive(segment, segment.name, archive).returncode == 0
    # other content under that name: refused, the archived one kept
    other = tmp_path / "other"
    other.write_bytes(b"not the same")
    refused = _archive(other, segment.name, archive)
    assert refused.returncode != 0
    assert (archive / segment.name).read_bytes() == segment.read_bytes()
    # a copy that cannot finish leaves no file under the segment's name
    missing = _archive(tmp_path / "gone", "000000010000000000000004", archive)
    assert missing.returncode != 0
    assert [path.name for path in archive.iterdir()] == [segment.name]
