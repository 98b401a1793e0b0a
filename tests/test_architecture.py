"""The code base keeps the shape docs/architecture.md describes: modules import each other in one direction
only (no cycle, also not through imports inside functions), blueprint modules never import each other, and
roles are compared in one module only (``policy``); no module grows past about 500 lines."""
from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "assessments"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imported_modules(name: str) -> set[str]:
    """Every module of ours that ``name`` imports, at the top or inside a function."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            elif (node.module or "").startswith("assessments"):
                base = node.module
            else:
                continue
            # "from . import audit" imports the module assessments.audit; "from .models import User" imports
            # assessments.models (the name is not a module).
            candidates = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                          for alias in node.names]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names if alias.name.startswith("assessments")]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in MODULES:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                found.add(candidate)
    return found


GRAPH = {name: imported_modules(name) for name in MODULES}


def cycle_through(start: str) -> list[str] | None:
    """A path start → … → start, if there is one."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in GRAPH[node]:
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None


def test_no_import_cycle_in_the_package():
    # The package itself is the application factory: it imports everything, inside create_app.
    cycles = {tuple(c) for name in MODULES if name != "assessments" and (c := cycle_through(name))
              and "assessments" not in c}
    assert "assessments.workflow" in GRAPH["assessments.signoff"]  # the graph sees imports at all
    assert not cycles, "import cycles: " + "; ".join(" → ".join(c) for c in sorted(cycles))


def test_blueprint_modules_never_import_each_other():
    shared = {"assessments.views.common", "assessments.views.throttling", "assessments.views"}
    views = {name for name in MODULES if name.startswith("assessments.views.")} - shared
    crossing = sorted((name, other) for name in views for other in GRAPH[name] & views)
    assert not crossing, f"views importing views: {crossing}"


ROLE_COMPARISON = re.compile(r"Role\.(COMMUNICATOR|LEGAL|DPO|ADMIN|VIEWER)\b|\brole\.value\s*==|\.role\s+(is|in|==)")


def test_roles_are_compared_only_in_the_policy():
    """Templates receive booleans, services ask ``policy``. (Queries that look users up by their role, and
    the model and the demo data that define roles, are not decisions about access.)"""
    allowed = {"assessments/policy.py", "assessments/models.py", "assessments/roles.py"}
    offenders = []
    root = PACKAGE.parent
    for path in [*PACKAGE.rglob("*.py"), *(root / "templates").rglob("*.html")]:
        relative = path.relative_to(root).as_posix()
        if relative in allowed or relative.startswith("assessments/demo/"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("#", 1)[0]
            if ROLE_COMPARISON.search(code) and "User.role ==" not in code:
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert not offenders, "role checks outside the policy:\n" + "\n".join(offenders)


# About 500 lines: a module a newcomer can read in one sitting, and that does one job (docs/architecture.md).
MAX_MODULE_LINES = 520


def test_no_module_is_longer_than_one_job():
    lengths = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in MODULES.items()}
    assert max(lengths.values()) > 100  # the lengths are read at all
    too_long = sorted((n, length) for n, length in lengths.items() if length > MAX_MODULE_LINES)
    assert not too_long, f"split these modules (more than {MAX_MODULE_LINES} lines): {too_long}"
