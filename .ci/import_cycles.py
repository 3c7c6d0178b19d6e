#!/usr/bin/env python3
"""Fails when two modules of src/ import each other, directly or around a loop.

A module is a file (src/a/b.rs is `a::b`, src/a/mod.rs is `a`). An edge
`a::b -> c::d` comes from a `use crate::c::d...` line (or a `crate::c::d::`
path in code) in src/a/b.rs, resolved to the longest module that exists.
A module's own children (its submodules) do not count as edges from the
parent: `mod.rs` re-exporting its children is how Rust modules are built.
"""
import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def module_of(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return "::".join(parts)


def main() -> int:
    files = {module_of(p): p for p in SRC.rglob("*.rs")}
    modules = set(files)
    edges = {m: set() for m in modules}
    path_re = re.compile(r"crate::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)")
    group_re = re.compile(r"use crate::((?:[a-z_][a-z0-9_]*::)*)\{([^}]*)\}", re.S)
    for module, path in files.items():
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"(?m)//.*$", "", text)
        # Tests may reach anywhere; they are not part of the layering.
        text = text.split("#[cfg(test)]")[0]
        names = [m.group(1) for m in path_re.finditer(text)]
        for prefix, inner in group_re.findall(text):
            for item in inner.split(","):
                item = item.strip().split(" as ")[0].strip()
                if item and item != "self" and re.match(r"^[a-z_][a-z0-9_:]*$", item):
                    names.append(prefix + item)
                elif item == "self":
                    names.append(prefix.rstrip(":"))
        for name in names:
            parts = name.split("::")
            target = None
            for n in range(len(parts), 0, -1):
                candidate = "::".join(parts[:n])
                if candidate in modules:
                    target = candidate
                    break
            if target is None or target == module or target == "":
                continue
            # A parent naming its own submodule is structure, not a dependency.
            if target.startswith(module + "::") if module else True:
                continue
            edges[module].add(target)

    # Tarjan's strongly connected components: any component of two or more is a cycle.
    index, low, stack, on_stack, result = {}, {}, [], set(), []
    counter = [0]

    def connect(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(modules):
        if v not in index:
            connect(v)
    if result:
        print("import cycles among modules of src/:")
        for component in result:
            inner = {m: sorted(edges[m] & set(component)) for m in component}
            print("  " + ", ".join(component))
            for m, targets in inner.items():
                print(f"    {m} -> {', '.join(targets)}")
        return 1
    print(f"no import cycles among {len(modules)} modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
