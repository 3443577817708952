"""Import cycles among the modules of restore/ and pyramids/, module-level and function-level imports alike
(tests/test_layout.py runs it): ``python scripts/import_cycles.py`` prints each strongly connected group and exits 1
if there is one. Importing a submodule counts as importing its parent packages' ``__init__`` too.
"""
import ast, sys, pathlib
root = pathlib.Path('.')
mods = {}
for p in list(root.glob('restore/**/*.py')) + list(root.glob('pyramids/**/*.py')):
    name = '.'.join(p.with_suffix('').parts)
    if name.endswith('.__init__'): name = name[:-9]
    mods[name] = p
graph = {m: set() for m in mods}
for m, p in mods.items():
    tree = ast.parse(p.read_text())
    pkg = m if p.name == '__init__.py' else m.rsplit('.', 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in mods: graph[m].add(a.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parts = pkg.split('.')[: len(pkg.split('.')) - node.level + 1]
                base = '.'.join(parts + ([base] if base else []))
            subs = [f"{base}.{a.name}" for a in node.names]
            for full in subs:
                if full in mods: graph[m].add(full)
            if base in mods and not all(f in mods for f in subs): graph[m].add(base)
# importing a submodule also runs its parent packages' __init__
for m in list(graph):
    for t in list(graph[m]):
        parts = t.split('.')
        for i in range(1, len(parts)):
            par = '.'.join(parts[:i])
            if par in mods and par != m and not m.startswith(par + '.'): graph[m].add(par)
# find SCCs (Tarjan)
index = {}; low = {}; st = []; on = set(); res = []; c = [0]
sys.setrecursionlimit(10000)
def sc(v):
    index[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
    for w in graph[v]:
        if w not in index: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = st.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: res.append(sorted(comp))
for v in graph:
    if v not in index: sc(v)
for comp in res: print(len(comp), comp)
print("cycles:", len(res))
sys.exit(1 if res else 0)
