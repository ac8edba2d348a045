"""Import direction: kernels <- fastnn <- cli, checked on the source with ast."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def imported_packages(path):
    """Top-level package names imported by a file (relative imports excluded)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_imported_packages_sees_all_import_forms(tmp_path):
    """The checker finds plain, from-, nested and function-level imports, not relative ones."""
    probe = tmp_path / "probe.py"
    probe.write_text("import a.b\nfrom c.d import e\nfrom . import f\n"
                     "def g():\n    import h\n    from i import j\n")
    assert imported_packages(probe) == {"a", "c", "h", "i"}


@pytest.mark.parametrize("package, forbidden", [("kernels", {"fastnn", "cli"}),
                                                ("fastnn", {"cli"})])
def test_import_direction(package, forbidden):
    """Nothing in kernels/ imports fastnn or cli; nothing in fastnn/ imports cli."""
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no sources under {package}/"
    bad = {str(f.relative_to(ROOT)): sorted(imported_packages(f) & forbidden) for f in files}
    bad = {k: v for k, v in bad.items() if v}
    assert not bad, f"{package}/ must not import {sorted(forbidden)}: {bad}"
