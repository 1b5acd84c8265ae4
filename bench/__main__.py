"""``python -m bench``: the benchmarks there are, each run as ``python -m bench.<name> --help``.

Modules are found, not listed here, so adding a benchmark needs no edit to this file; a module whose
docstring starts with "Not a benchmark" (a data generator, say) is left out.
"""

from __future__ import annotations

import ast
import pkgutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benches() -> list[tuple[str, str]]:
    """(name, first line of its docstring) for every benchmark module, read without importing it."""
    found = []
    for module in sorted(pkgutil.iter_modules([str(HERE)]), key=lambda m: m.name):
        if module.name.startswith("_") or module.ispkg:
            continue
        source = (HERE / f"{module.name}.py").read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(source)) or ""
        summary = doc.strip().splitlines()[0] if doc.strip() else ""
        if not summary.startswith("Not a benchmark"):
            found.append((module.name, summary))
    return found


def main() -> int:
    print("Benchmarks (python -m bench.<name> --help for options):")
    for name, summary in benches():
        print(f"  {name:<14} {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
