"""Schema migrations, for the CLI and the tests."""

from __future__ import annotations

from piccolo.apps.migrations.commands.forwards import run_forwards


async def migrate() -> tuple[bool, str]:
    """Run every pending migration; Piccolo reports failure instead of raising (STACK.md P14)."""
    result = await run_forwards("all")
    return bool(result.success), str(result.message)
