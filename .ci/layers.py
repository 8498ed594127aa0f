#!/usr/bin/env python3
"""The import graph of src/: no cycles, and every edge pointing down the layers.

Each file is a module (src/lib.rs = the crate root, src/a.rs or src/a/mod.rs = a,
src/a/b.rs = a::b). F -> G when F names an item by a `crate::`, `super::` or `self::`
path (in a `use` or inline) that resolves to G. Re-exports are followed: `crate::Event`
resolves through lib.rs's `pub use model::Event` to `model::event`, so a facade cannot
hide an edge. A parent naming its own descendants (declaring and re-exporting them) is
not an edge.

Then each top-level module is given its layer (LAYERS below, lowest first) and every
edge must point to the same or a lower layer. Prints the layers, any cycle (strongly
connected component larger than one file) and any upward edge; exits 1 on either.

    python3 .ci/layers.py [src]
"""
import os
import re
import sys

# Lowest first. A module may import from its own layer (without cycles) and below.
LAYERS = [
    ("leaves", {"sync", "text", "control", "varint", "lines"}),
    ("model", {"model"}),
    ("hot path", {"core"}),
    ("read side", {"read"}),
    # "" is the crate root (lib.rs): re-exports only; the macros expand to facade calls.
    ("facade", {"recorder", "macros", ""}),
    ("runtime", {"runtime"}),
    ("optional parts", None),  # everything else: exporters, flight events, integrations…
]

src = sys.argv[1] if len(sys.argv) > 1 else "src"
mods = {}
for root, _, files in os.walk(src):
    for f in files:
        if not f.endswith(".rs"):
            continue
        rel = os.path.relpath(os.path.join(root, f), src)
        parts = rel[:-3].split(os.sep)
        if parts[0] == "bin":
            continue  # binaries use the crate from outside
        if parts in (["lib"], ["main"]):
            key = ()
        elif parts[-1] == "mod":
            key = tuple(parts[:-1])
        else:
            key = tuple(parts)
        mods[key] = rel


def strip(text):
    # An inline `#[cfg(test)] mod tests { use super::*; }` names its own file, not the
    # parent module: the file's unit tests (at its end, by convention) are left out.
    text = re.split(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text)[0]
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    return text


def expand(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e] (renames dropped)."""
    tree = tree.strip()
    i = tree.find("{")
    if i < 0:
        return [tree.split(" as ")[0].strip()]
    prefix, body = tree[:i], tree[i + 1: tree.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    return [prefix + q for p in parts if p.strip() for q in expand(p)]


def segments(path, here):
    """Absolute segments for a crate/super/self path written in module `here`."""
    segs = [s.strip() for s in path.split("::") if s.strip()]
    if not segs:
        return None
    if segs[0] == "crate":
        return segs[1:]
    if segs[0] in ("super", "self"):
        base = list(here)
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super" and base:
                base.pop()
            segs = segs[1:]
        return base + segs
    if tuple(here) + (segs[0],) in mods:  # `use child::Item` inside a parent
        return list(here) + segs
    return None


texts = {k: strip(open(os.path.join(src, r), encoding="utf-8", errors="replace").read())
         for k, r in mods.items()}

# Re-exports: module -> {name: absolute segments of what it re-exports}.
reexports = {k: {} for k in mods}
globs = {k: [] for k in mods}
for key, text in texts.items():
    for m in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]*);", text):
        for p in expand(m.group(1)):
            name = p.split("::")[-1].strip()
            alias = re.search(r"\bas\s+(\w+)\s*$", m.group(1)) if "{" not in m.group(1) else None
            segs = segments(p, key)
            if segs is None:
                continue  # an external crate's item
            if name == "*":
                globs[key].append(segs[:-1])
            else:
                reexports[key][alias.group(1) if alias else name] = segs


def resolve(segs, depth=0):
    """The module that defines the item at `segs` (following re-exports)."""
    path = ()
    for i, s in enumerate(segs):
        if s == "*":
            return path
        if path + (s,) in mods:
            path = path + (s,)
            continue
        if depth < 16 and s in reexports.get(path, {}):
            return resolve(reexports[path][s] + segs[i + 1:], depth + 1)
        if depth < 16:
            for g in globs.get(path, []):
                hit = resolve(g + [s] + segs[i + 1:], depth + 1)
                if hit is not None and hit != tuple(g):
                    return hit
        return path  # an item defined in `path`
    return path


edges = {k: set() for k in mods}
for key, text in texts.items():
    paths = []
    for m in re.finditer(r"\buse\s+([^;]*);", text):
        paths += expand(m.group(1))
    for m in re.finditer(r"\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)", text):
        paths.append(m.group(1))
    for p in paths:
        segs = segments(p, key)
        if segs is None:
            continue
        tgt = resolve([s for s in segs if s != "*"])
        if tgt is None or tgt == key or tgt[: len(key)] == key:
            continue
        edges[key].add(tgt)

# Tarjan's strongly connected components.
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges[v]:
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
        sccs.append(comp)


for v in list(mods):
    if v not in index:
        visit(v)
cycles = sorted((c for c in sccs if len(c) > 1), key=len, reverse=True)


def layer(key):
    top = key[0] if key else ""
    for i, (_, members) in enumerate(LAYERS):
        if members is None or top in members:
            return i
    return len(LAYERS) - 1


upward = sorted((mods[a], mods[b]) for a, es in edges.items() for b in es
                if a and layer(b) > layer(a))

for i, (name, _) in enumerate(LAYERS):
    files = sorted(mods[k] for k in mods if layer(k) == i)
    print(f"{i} {name:15} {len(files):3} files: {' '.join(files)}")
for c in cycles:
    print(f"CYCLE of {len(c)}: " + ", ".join(sorted(mods[m] for m in c)))
for a, b in upward:
    print(f"UPWARD: {a} -> {b}")
print(f"{len(mods)} modules, {sum(len(e) for e in edges.values())} edges (re-exports followed), "
      f"{len(cycles)} cycles, largest {max((len(c) for c in cycles), default=1)}, "
      f"{len(upward)} upward edges")
sys.exit(1 if cycles or upward else 0)
