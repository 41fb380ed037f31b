"""Layering that import-linter cannot see: only judgeloop.store opens database sessions or engines.

(The import contracts themselves are in pyproject.toml, [tool.importlinter], checked by `lint-imports`
in scripts/test.sh.)"""

from __future__ import annotations

import ast
from pathlib import Path

import judgeloop

PACKAGE = Path(judgeloop.__file__).parent
OPENERS = {"sessionmaker", "scoped_session", "create_engine", "create_async_engine", "engine_from_config"}


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    orm_sessions: set[str] = set()  # local names bound to sqlalchemy.orm.Session
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            for alias in node.names:
                if alias.name in OPENERS:
                    found.append(f"{path}:{node.lineno} imports {alias.name}")
                if alias.name == "Session":
                    orm_sessions.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in orm_sessions:
            found.append(f"{path}:{node.lineno} opens a database session ({func.id}(...))")
        if isinstance(func, ast.Attribute) and func.attr in ("connect", "begin", "raw_connection"):
            owner = func.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if "engine" in name.lower():
                found.append(f"{path}:{node.lineno} opens a connection ({name}.{func.attr}())")
        if isinstance(func, ast.Attribute) and func.attr in OPENERS:
            found.append(f"{path}:{node.lineno} calls {func.attr}")
    return found


def test_only_the_store_opens_database_sessions():
    outside = [p for p in PACKAGE.rglob("*.py") if "store" not in p.relative_to(PACKAGE).parts[:1]]
    assert len(outside) > 50  # the package was found
    problems = [v for p in sorted(outside) for v in _violations(p)]
    assert problems == []


def test_the_check_sees_a_session_opened_outside_the_store(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from sqlalchemy import create_engine\nfrom sqlalchemy.orm import Session as DB\n"
        "engine = create_engine('sqlite://')\nwith engine.connect() as c:\n    pass\nDB(engine)\n",
        encoding="utf-8",
    )
    assert len(_violations(bad)) == 3
    store = PACKAGE / "store" / "db.py"
    assert _violations(store)  # the store itself does open them: the check is not vacuous
