"""The layering the docs promise: compute, then render, and modules a newcomer can read."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "replication"
RENDERERS = sorted((PACKAGE / "report").glob("*.py"))
NEVER_IN_RENDERERS = ("replication.stats", "replication.analysis", "replication.sweep")


def imports(path: Path) -> set[str]:
    """Modules a file imports at run time (imports under `if TYPE_CHECKING:` are types only)."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and getattr(block.test, "id", "") == "TYPE_CHECKING"
        for node in ast.walk(block)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


@pytest.mark.parametrize("path", RENDERERS, ids=lambda p: p.name)
def test_renderers_never_run_statistics(path):
    bad = sorted(m for m in imports(path) if m.startswith(NEVER_IN_RENDERERS))
    assert not bad, f"{path.name} imports {bad}: renderers format ClaimResults only"


@pytest.mark.parametrize(
    "path",
    [p for p in sorted(PACKAGE.rglob("*.py")) if "report" not in p.parts],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_what_computes_never_imports_what_renders(path):
    bad = sorted(m for m in imports(path) if m.startswith("replication.report"))
    assert not bad or path.name in ("__main__.py", "calibration_report.py"), bad


@pytest.mark.parametrize("path", RENDERERS, ids=lambda p: p.name)
def test_no_renderer_is_over_300_lines(path):
    assert len(path.read_text().splitlines()) <= 300


def test_the_ast_check_sees_an_import():
    assert "replication.stats" in imports(PACKAGE / "results.py")
