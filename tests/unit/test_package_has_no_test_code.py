"""The installed package holds no test code and needs no test-only extra.

The test kits live in ``tests/support/`` (shared with ``benchmarks/``); ``framewire`` imports
nothing from them and starts no RTSP server. scikit-image and matplotlib are optional
extras: a module may import them only inside a function, under a ``try`` that turns their
absence into a ConfigError. The ``framewire bench`` harness (``benchmarks/pipeline/``) needs
no kit either.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "services" / "framewire"
GENERATED = PACKAGE / "v1"
HARNESS = ROOT / "benchmarks" / "pipeline"
# Test-only imports: never in the package.
TEST_ONLY = {"support", "pytest", "_pytest", "hypothesis", "playwright", "schemathesis"}
# Optional extras: only on call, with the install hint when missing.
OPTIONAL = {"skimage", "matplotlib"}
KIT_NAMES = {"testing", "testkit", "conftest"}
# RTSP servers the gateway kit starts (Debian packages installed for the tests only).
RTSP_SERVERS = {"rtsp-server-perl", "rtsp_server.pl", "mediamtx"}


def modules(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*.py")):
        if GENERATED not in path.parents:
            yield path


def imported(node: ast.AST) -> list[str]:
    """Dotted names an import statement brings in (``from . import x`` names nothing)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    return []


def catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in names)


def guarded_roots(function: ast.AST) -> set[str]:
    """Top-level names a function imports under a ``try`` that catches ImportError."""
    return {name.split(".")[0]
            for node in ast.walk(function)
            if isinstance(node, ast.Try) and any(catches_import_error(h) for h in node.handlers)
            for stmt in node.body for inner in ast.walk(stmt) for name in imported(inner)}


def violations(path: Path) -> list[str]:
    """Every forbidden import in one module, as ``line name (why)``."""
    found: list[str] = []

    def visit(node: ast.AST, guarded: set[str] | None) -> None:
        # ``guarded``: None at module level, else what the enclosing function imports guarded.
        for name in imported(node):
            parts = name.split(".")
            where = f"{getattr(node, 'lineno', 0)} {name}"
            if parts[0] in TEST_ONLY or (parts[0] == "framewire" and KIT_NAMES & set(parts)):
                found.append(f"{where} (test-only)")
            elif parts[0] in OPTIONAL and (guarded is None or parts[0] not in guarded):
                found.append(f"{where} (optional extra imported without an ImportError guard)")
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            guarded = guarded_roots(node)
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(ast.parse(path.read_text(), str(path)), None)
    return found


def command_words(path: Path) -> Iterator[str]:
    """Every string literal of a module that could name a program (comments are not seen)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip():
            yield Path(node.value.split()[0]).name


def test_no_module_of_the_package_is_a_test_kit():
    # Given every module of the package
    kits = [str(p.relative_to(ROOT)) for p in modules(PACKAGE)
            if p.stem in KIT_NAMES or p.stem.endswith(("_testing", "_testkit"))
            or "testing" in p.relative_to(PACKAGE).parts[:-1]]
    # Then none is named as a test kit
    assert kits == []


def test_the_package_imports_no_kit_and_no_test_only_extra():
    # Given every import statement of the package
    found = [f"{p.relative_to(ROOT)}:{v}" for p in modules(PACKAGE) for v in violations(p)]
    # Then kits and test-only packages are never imported, optional extras only on call
    assert found == []


def test_the_package_runs_no_rtsp_server():
    # Given every module of the package (the gateway reads RTSP; only the tests serve it)
    serving = [str(p.relative_to(ROOT)) for p in modules(PACKAGE)
               if RTSP_SERVERS & set(command_words(p))]
    # Then none starts an RTSP server
    assert serving == []


def test_the_bench_harness_imports_no_kit():
    # Given the modules that `framewire bench` loads from a source checkout
    found = [f"{p.relative_to(ROOT)}:{v}" for p in sorted(HARNESS.glob("*.py"))
             for v in violations(p) if "(test-only)" in v]
    # Then the benchmark needs no test kit
    assert found == []


def test_the_rule_sees_an_unguarded_optional_import_and_a_kit(tmp_path: Path):
    # Given a module with each kind of forbidden import, and one with the allowed form
    bad, good = tmp_path / "bad.py", tmp_path / "good.py"
    bad.write_text("import skimage.data\n"
                   "from support.gateway import spec\n"
                   "from framewire.gateway.testing import spec as s\n"
                   "def f():\n    import matplotlib\n")
    # (the guarded form may import submodules once the package itself was imported guarded)
    good.write_text("def f():\n    try:\n        import skimage\n"
                    "    except ImportError:\n        raise SystemExit from None\n"
                    "    import skimage.data\n")
    # When each is checked
    # Then the four bad imports are reported and the guarded one is not
    assert violations(bad) == [
        "1 skimage.data (optional extra imported without an ImportError guard)",
        "2 support.gateway (test-only)",
        "3 framewire.gateway.testing (test-only)",
        "5 matplotlib (optional extra imported without an ImportError guard)",
    ]
    assert violations(good) == []


def test_samples_without_scikit_image_say_which_extra_to_install():
    # Given an interpreter where scikit-image cannot be imported
    code = ("import sys; sys.modules['skimage'] = None\n"
            "from framewire.core.errors import ConfigError\n"
            "from framewire.samples import load_photo\n"
            "try:\n    load_photo('coffee')\nexcept ConfigError as e:\n    print(e)\n")
    # When a sample photo is asked for
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    # Then the error names the extra that provides it
    assert "framewire[samples]" in out
