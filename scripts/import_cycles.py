"""Import cycles among the modules of restore/ and pyramids/, module-level and function-level imports alike
(tests/test_layout.py runs it): ``python scripts/import_cycles.py`` prints each strongly connected group and exits 1
if there is one. Importing a submodule counts as importing its parent packages' ``__init__`` too.
"""
import ast
import pathlib
import sys


def module_files(root: pathlib.Path) -> dict[str, pathlib.Path]:
    mods = {}
    for p in [*root.glob("restore/**/*.py"), *root.glob("pyramids/**/*.py")]:
        name = ".".join(p.with_suffix("").parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        mods[name] = p
    return mods


def import_graph(mods: dict[str, pathlib.Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        pkg = m if p.name == "__init__.py" else m.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Import):
                graph[m].update(a.name for a in node.names if a.name in mods)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                subs = [f"{base}.{a.name}" for a in node.names]
                graph[m].update(f for f in subs if f in mods)
                if base in mods and not all(f in mods for f in subs):
                    graph[m].add(base)
    # importing a submodule also runs its parent packages' __init__
    for m in list(graph):
        for t in list(graph[m]):
            parts = t.split(".")
            for i in range(1, len(parts)):
                par = ".".join(parts[:i])
                if par in mods and par != m and not m.startswith(par + "."):
                    graph[m].add(par)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return found


def main() -> None:
    res = cycles(import_graph(module_files(pathlib.Path("."))))
    for comp in res:
        print(len(comp), comp)
    print("cycles:", len(res))
    sys.exit(1 if res else 0)


if __name__ == "__main__":
    main()
