"""The layering of STYLE.md Do 1, Do 2 and Do 5, enforced by reading the source (no imports).

The store owns all SQL: nothing outside ledger/store imports Piccolo or the tables, or holds
SQL text (docs/ARCHITECTURE.md), with one exception, piccolo-admin's wiring (ADMIN_WIRING).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LEDGER = ROOT / "ledger"
DOMAIN = LEDGER / "domain"
STORE = LEDGER / "store"
API = ROOT / "api"

NOT_IN_DOMAIN = {
    "litestar",
    "piccolo",
    "redis",
    "qrcode",
    "msgspec",
    "argon2",
    "api",
    "ledger.store",
    "ledger.services",
}
PICCOLO = ("piccolo", "piccolo_api", "piccolo_admin")
TABLES = "ledger.store.tables"
# The one module outside ledger/store that may import Piccolo and the tables: piccolo-admin is
# configured with the table classes themselves, and it is web wiring (it brings Starlette and
# FastAPI, and reads the request's scope), so it lives in api/ beside the /admin mount. Its
# queries are still the store's (ledger/store/registry.py, ledger/store/sessions.py).
ADMIN_WIRING = API / "pages" / "admin_wiring.py"
# SQL is text that starts with a statement's keywords, in capitals as the store writes them.
SQL_TEXT = re.compile(
    r"\s*(SELECT\b"
    r"|INSERT\s+INTO\s"
    r"|UPDATE\s+\w+\s+SET\s"
    r"|DELETE\s+FROM\s"
    r"|WITH\s+(RECURSIVE\s+)?\w+\s*(\([^)]*\)\s*)?AS\s+(NOT\s+)?(MATERIALIZED\s+)?\()"
)


def python_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*.py") if "__pycache__" not in path.parts)


def module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, module: str | None = None) -> Iterator[tuple[str, list[str]]]:
    """Each import of a file: the module, and the names imported from it (none for `import
    x`), relative imports resolved against the file's package (the file's module is `module`,
    by default where it is under ROOT)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = module or module_of(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names = [alias.name for alias in node.names]
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                yield ".".join([*base, node.module] if node.module else base), names
            elif node.module is not None:
                yield node.module, names


def imported_modules(path: Path, module: str | None = None) -> Iterator[str]:
    """Every module a file imports."""
    return (imported for imported, _ in imports(path, module))


def imported_names(path: Path, module: str | None = None) -> Iterator[str]:
    """Every module a file imports, and every name it imports from one (`from ledger.store
    import tables` gives ledger.store and ledger.store.tables)."""
    for imported, names in imports(path, module):
        yield imported
        yield from (f"{imported}.{name}" for name in names)


def is_under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name


def test_the_source_folders_are_where_the_tests_look() -> None:
    assert python_files(DOMAIN)
    assert python_files(STORE)
    assert python_files(API)


@pytest.mark.parametrize("path", python_files(DOMAIN), ids=relative)
def test_domain_imports_only_the_standard_library_and_itself(path: Path) -> None:
    for module in imported_modules(path):
        top = module.partition(".")[0]
        allowed = top in sys.stdlib_module_names or is_under(module, "ledger.domain")
        assert allowed, f"{relative(path)} imports {module}"
        assert not any(is_under(module, banned) for banned in NOT_IN_DOMAIN), module


@pytest.mark.parametrize("path", python_files(LEDGER), ids=relative)
def test_nothing_in_ledger_imports_the_web_layer(path: Path) -> None:
    for module in imported_modules(path):
        assert not is_under(module, "litestar"), f"{relative(path)} imports {module}"
        assert not is_under(module, "api"), f"{relative(path)} imports {module}"


def outside_the_store() -> list[Path]:
    """Every file of ledger/ and api/ but the store and the admin wiring (no exceptions left
    since issue 18 moved every query into ledger/store)."""
    files = python_files(LEDGER) + python_files(API)
    return [path for path in files if not path.is_relative_to(STORE) and path != ADMIN_WIRING]


def piccolo_imports(path: Path, module: str | None = None) -> list[str]:
    return [m for m in imported_modules(path, module) if any(is_under(m, p) for p in PICCOLO)]


def tables_imports(path: Path, module: str | None = None) -> list[str]:
    return [name for name in imported_names(path, module) if is_under(name, TABLES)]


def sql_texts(path: Path) -> list[str]:
    """String constants that are SQL, f-strings' literal parts included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        f"{relative(path)}:{node.lineno} {node.value[:40]!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and SQL_TEXT.match(node.value)
    ]


@pytest.mark.parametrize("path", outside_the_store(), ids=relative)
def test_only_the_store_imports_piccolo(path: Path) -> None:
    offending = piccolo_imports(path)
    assert offending == [], f"{relative(path)} imports {offending}"


@pytest.mark.parametrize("path", outside_the_store(), ids=relative)
def test_only_the_store_imports_the_tables(path: Path) -> None:
    offending = tables_imports(path)
    assert offending == [], f"{relative(path)} imports {offending}"


@pytest.mark.parametrize("path", outside_the_store(), ids=relative)
def test_only_the_store_holds_sql(path: Path) -> None:
    assert sql_texts(path) == []


def test_the_admin_wiring_is_the_one_exception_and_still_needs_it() -> None:
    """If the wiring stops importing Piccolo or the tables, its exception must go."""
    assert piccolo_imports(ADMIN_WIRING)
    assert tables_imports(ADMIN_WIRING)
    assert sql_texts(ADMIN_WIRING) == []


def _entry_mutations(path: Path) -> list[str]:
    """Calls like `Entry.update(...)` or `Entry.delete(...)`, however they are spelled."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"update", "delete"}
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "Entry"
        ):
            found.append(f"{relative(path)}:{node.lineno} Entry.{node.func.attr}(")
    return found


def _raw_entry_mutations(path: Path) -> list[str]:
    """Raw SQL that updates or deletes ledger entries."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = " ".join(node.value.upper().split())
            if (
                "UPDATE ENTRY " in text
                or "DELETE FROM ENTRY " in text
                or text.endswith(("UPDATE ENTRY", "DELETE FROM ENTRY"))
            ):
                found.append(f"{relative(path)}:{node.lineno}")
    return found


def test_no_code_updates_or_deletes_ledger_entries() -> None:
    files = python_files(LEDGER) + python_files(API)
    assert [hit for path in files for hit in _entry_mutations(path)] == []
    assert [hit for path in files for hit in _raw_entry_mutations(path)] == []


def test_the_detectors_find_what_they_look_for(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from .tables import Entry\n"
        "async def f():\n"
        "    await Entry.update({Entry.memo: 'x'})\n"
        "    await Entry.delete()\n"
        "    await Entry.raw('DELETE FROM entry WHERE id = 1')\n"
    )
    assert len(_entry_mutations(probe)) == 2
    assert len(_raw_entry_mutations(probe)) == 1


def test_the_boundary_detectors_find_what_they_look_for(tmp_path: Path) -> None:
    """A service that imports the tables, however it spells it, or Piccolo, or holds SQL, fails
    the checks above (the probe stands for ledger/services/probe.py)."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import piccolo_admin\n"
        "from ledger.store.tables import Household\n"
        "from ledger.store import tables\n"
        "from ..store import tables as t\n"
        "import ledger.store.tables\n"
        "from piccolo.table import Table\n"
        "from ledger.store import registry\n"
        "ONE = 'SELECT id FROM household WHERE id = $1'\n"
        "TWO = '  INSERT INTO lot (id) VALUES ($1)'\n"
        "THREE = f'UPDATE reward SET stock = {1}'\n"
        "FOUR = 'DELETE FROM photo WHERE id = $1'\n"
        "FIVE = 'WITH due AS (SELECT 1) SELECT * FROM due'\n"
        "PROSE = ['Select a reward', 'With care', 'SELECTED', 'update the list']\n"
    )
    module = "ledger.services.probe"
    assert tables_imports(probe, module) == [
        "ledger.store.tables",
        "ledger.store.tables.Household",
        "ledger.store.tables",
        "ledger.store.tables",
        "ledger.store.tables",
    ]
    assert piccolo_imports(probe, module) == ["piccolo_admin", "piccolo.table"]
    assert len(sql_texts(probe)) == 5
    clean = tmp_path / "clean.py"
    clean.write_text("from ledger.store import registry\nfrom ledger.store.tables_doc import X\n")
    assert tables_imports(clean, module) == piccolo_imports(clean, module) == sql_texts(clean) == []
