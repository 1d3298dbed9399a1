"""The package's layers (docs/ARCHITECTURE.md), enforced on every import of every module.

Each module under ``sqgan_ros/`` is parsed (``ast``; imports inside functions count too) and the
imports are checked against the layer table below:

* no import cycle between modules (and so none between the top-level parts);
* runtime parts import only runtime parts of a lower layer (never a peer of their own layer, never
  a tool); tools import the runtime and tools below them;
* nothing in ``sqgan_ros/bitstream`` imports torch, directly or through another module;
* rclpy (and the ROS message packages, ``sqgan_ros.msg`` included) only inside ``sqgan_ros.ros``.

The checker also runs on small synthetic trees with a cycle, an upward import, torch in the
bitstream and rclpy in the library, so a checker that stopped seeing them fails here too.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "sqgan_ros"

#: The runtime, lowest layer first. A runtime part imports only parts of lower layers.
RUNTIME_LAYERS: tuple[tuple[str, ...], ...] = (
    ("labels", "bundled_models", "typed_config", "link_cost", "regions"),
    ("bitstream",),
    ("codec",),
    ("api",),
    ("video", "rate_control", "segmentation"),
    ("sessions",),
    ("ros", "codec_cli"),
)
#: The tools, lowest first: each imports any runtime part and the tools of lower layers; the
#: runtime never imports them.
TOOL_LAYERS: tuple[tuple[str, ...], ...] = (
    ("setup_assets", "data"),
    ("training",),
    ("evaluation",),
    ("tools",),
    ("ros.tools",),
)
#: Only these parts may import rclpy, ROS message packages and the generated ``sqgan_ros.msg``.
ROS_PARTS = frozenset({"ros", "ros.tools"})
ROS_MODULES = frozenset({"rclpy", "rcl_interfaces", "sensor_msgs", "std_msgs", "builtin_interfaces",
                         "launch", "launch_ros", "launch_testing", "rosidl_runtime_py", "cv_bridge",
                         f"{PACKAGE}.msg"})
#: Parts that must not import torch, not even through another module.
NO_TORCH_PARTS = frozenset({"bitstream"})
#: Documented exceptions (docs/ARCHITECTURE.md): (module, imported module) -> why. Each holds only
#: for an import inside a function (the module imports without the tool), and each must still be
#: used (a stale exception fails the test, so it is removed when the code moves).
ALLOWED_LAZY: dict[tuple[str, str], str] = {
    (f"{PACKAGE}.ros.frame_sources", f"{PACKAGE}.data.synthetic"):
        "camera_source's 'synthetic' source renders scenes with the data package's renderer, imported "
        "only when that source is opened (FrameSourceError when absent); moves to the tools side with "
        "a source registry once the node files are free (issue 17)",
    (f"{PACKAGE}.ros.frame_sources", f"{PACKAGE}.data.synthetic.sequence_cache"):
        "the same source replays a pre-rendered cache of those scenes",
}


@dataclass(frozen=True)
class Import:
    """One import statement's target, resolved to a module name."""

    source: str  # importing module
    target: str  # imported module (dotted)
    line: int
    lazy: bool  # inside a function or class body


def module_name(path: Path, root: Path) -> str:
    """Dotted module name of ``path`` (a file under ``root``, the folder holding the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def part_of(module: str, package: str = PACKAGE) -> str | None:
    """Top-level part of ``module`` (``ros.tools`` counts as its own part); None outside the package."""
    parts = module.split(".")
    if parts[0] != package:
        return None
    if len(parts) == 1:
        return ""  # the package's own __init__
    if parts[1] == "ros" and len(parts) > 2 and parts[2] == "tools":
        return "ros.tools"
    return parts[1]


def _imports(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> Iterable[Import]:
    package = module if is_package else module.rpartition(".")[0]

    def visit(node: ast.AST, lazy: bool) -> Iterable[Import]:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield Import(module, alias.name, child.lineno, lazy)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                for alias in child.names:  # ``from pkg import module`` imports the module
                    sub = f"{target}.{alias.name}"
                    yield Import(module, sub if sub in known else target, child.lineno, lazy)
            yield from visit(child, inner)

    yield from visit(tree, False)


def collect(root: Path, package: str = PACKAGE) -> dict[str, list[Import]]:
    """Every module of ``root/package`` and the imports it makes."""
    files = sorted((root / package).rglob("*.py"))
    known = {module_name(f, root) for f in files}
    out = {}
    for f in files:
        name = module_name(f, root)
        tree = ast.parse(f.read_text(encoding="utf-8"), filename=str(f))
        out[name] = list(_imports(tree, name, f.name == "__init__.py", known))
    return out


def _layer_index() -> dict[str, tuple[str, int]]:
    index = {}
    for kind, layers in (("runtime", RUNTIME_LAYERS), ("tool", TOOL_LAYERS)):
        for rank, names in enumerate(layers):
            for name in names:
                index[name] = (kind, rank)
    return index


def _internal(target: str, modules: dict[str, list[Import]], package: str) -> str | None:
    """The package module an import target runs (the nearest known module), or None."""
    while target:
        if target in modules:
            return target
        if "." not in target or not target.startswith(package):
            return None
        target = target.rpartition(".")[0]
    return None


def _is_external(target: str, names: frozenset[str]) -> bool:
    return any(target == n or target.startswith(n + ".") for n in names)


def _reaching(modules: dict[str, list[Import]], package: str, bad: frozenset[str],
              lazy: bool = True) -> dict[str, str]:
    """Modules that import one of ``bad`` directly or through other package modules: module -> chain.

    ``lazy=False`` follows only imports made when a module is imported (not those inside functions).
    """
    reach: dict[str, str] = {}
    for name, imports in modules.items():
        for imp in imports:
            if (lazy or not imp.lazy) and _is_external(imp.target, bad):
                reach.setdefault(name, f"{name} -> {imp.target}")
    changed = True
    while changed:
        changed = False
        for name, imports in modules.items():
            if name in reach:
                continue
            for imp in imports:
                if imp.lazy and not lazy:
                    continue
                dep = _internal(imp.target, modules, package)
                parents = [dep.rsplit(".", i)[0] for i in range(dep.count("."), -1, -1)] if dep else []
                hit = next((p for p in parents if p in reach), None)  # importing a.b.c runs a and a.b too
                if hit is not None:
                    reach[name] = f"{name} -> {reach[hit]}"
                    changed = True
                    break
    return reach


def _cycles(modules: dict[str, list[Import]], package: str) -> list[list[str]]:
    """Strongly connected components (size > 1) of the module import graph (Tarjan)."""
    graph = {name: sorted({d for imp in imports if (d := _internal(imp.target, modules, package)) and d != name})
             for name, imports in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def check(root: Path, package: str = PACKAGE,
          allowed: dict[tuple[str, str], str] | None = None) -> list[str]:
    """Every layer violation in ``root/package``, one line each (empty: the layers hold).

    Args:
        root: the folder holding the package.
        package: the package's name.
        allowed: lazy imports allowed against the layers (default :data:`ALLOWED_LAZY`).
    """
    allowed = ALLOWED_LAZY if allowed is None else allowed
    used: set[tuple[str, str]] = set()
    modules = collect(root, package)
    layers = _layer_index()
    problems = []
    for name in sorted(modules):
        part = part_of(name, package)
        if part and part not in layers:
            problems.append(f"{name}: part {part!r} is in no layer (add it to test/test_layers.py and "
                            "docs/ARCHITECTURE.md)")
    for cycle in _cycles(modules, package):
        problems.append("import cycle: " + " <-> ".join(cycle))
    for name, imports in sorted(modules.items()):
        part = part_of(name, package)
        if not part or part not in layers:
            continue
        kind, rank = layers[part]
        for imp in imports:
            where = f"{name}:{imp.line}"
            if part not in ROS_PARTS and _is_external(imp.target, ROS_MODULES | {f"{package}.msg"}):
                problems.append(f"{where}: imports {imp.target} outside {package}.ros")
                continue
            if part in NO_TORCH_PARTS and _is_external(imp.target, frozenset({"torch"})):
                problems.append(f"{where}: {part} imports torch")
            dep = _internal(imp.target, modules, package)
            target_part = part_of(dep, package) if dep else None
            if not target_part or target_part == part or target_part not in layers:
                continue
            target_kind, target_rank = layers[target_part]
            if (name, dep) in allowed:
                if imp.lazy:
                    used.add((name, dep))
                    continue
                problems.append(f"{where}: the allowed import of {dep} must stay inside a function")
            if kind == "runtime" and target_kind == "tool":
                problems.append(f"{where}: runtime part {part!r} imports tool {dep}")
            elif kind == target_kind and target_rank >= rank:
                relation = "a peer" if target_rank == rank else "a higher layer"
                problems.append(f"{where}: {part!r} imports {dep}, {relation}")
    torch_reach = _reaching(modules, package, frozenset({"torch"}))
    # ROS: a module outside sqgan_ros.ros may call into one that tries rclpy inside a function (e.g.
    # ros.message_size measures with the real serialiser where it can); it may not import one that
    # needs rclpy to be imported. Torch: no way through, not even inside functions.
    rclpy_reach = _reaching(modules, package, ROS_MODULES | {f"{package}.msg"}, lazy=False)
    for name, imports in sorted(modules.items()):
        part = part_of(name, package)
        for imp in imports:
            dep = _internal(imp.target, modules, package)
            if dep is None or part_of(dep, package) == part:
                continue
            if part in NO_TORCH_PARTS and dep in torch_reach:
                problems.append(f"{name}:{imp.line}: {part} imports torch through {torch_reach[dep]}")
            if part not in ROS_PARTS and dep in rclpy_reach:
                problems.append(f"{name}:{imp.line}: imports ROS through {rclpy_reach[dep]}")
    for name, dep in sorted(set(allowed) - used):
        problems.append(f"stale exception: {name} no longer imports {dep} lazily; remove it from ALLOWED_LAZY")
    return list(dict.fromkeys(problems))  # one line per (module, line, kind) even for several names


def test_the_package_keeps_its_layers() -> None:
    problems = check(ROOT)
    assert not problems, "layer violations (see docs/ARCHITECTURE.md):\n" + "\n".join(problems)


def test_every_part_of_the_package_is_in_the_table() -> None:
    layers = _layer_index()
    parts = {part_of(module_name(f, ROOT)) for f in (ROOT / PACKAGE).rglob("*.py")}
    assert parts - {""} <= set(layers), parts - set(layers) - {""}


def test_architecture_doc_names_every_part() -> None:
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for name in _layer_index():
        if name == "sessions" and not (ROOT / PACKAGE / "sessions").exists():
            continue
        assert name.replace(".", "/") in doc, f"docs/ARCHITECTURE.md does not place {name}"


# --- the checker bites: synthetic trees with one violation each ---------------------------------

def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / PACKAGE / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    for folder in {p.parent for p in (tmp_path / PACKAGE).rglob("*.py")} | {tmp_path / PACKAGE}:
        (folder / "__init__.py").touch()
    return tmp_path


CLEAN = {
    "labels.py": "import numpy\n",
    "bitstream/frame.py": "from sqgan_ros.labels import x\n",
    "codec/model.py": "import torch\nfrom sqgan_ros.bitstream import frame\n",
    "api.py": "from sqgan_ros.codec.model import SQGAN\n",
    "ros/encoder_node.py": "import rclpy\nfrom sqgan_ros.api import SemanticEncoder\n",
    "ros/tools/run_graph.py": "import rclpy\nfrom sqgan_ros.ros import encoder_node\nfrom sqgan_ros.data import pool\n",
    "data/pool.py": "from sqgan_ros.labels import x\n",
    "evaluation/sweep.py": "from sqgan_ros.api import x\nfrom sqgan_ros.training import lpips\n",
    "training/lpips.py": "import torch\n",
}


def test_checker_passes_a_clean_tree(tmp_path: Path) -> None:
    assert check(_tree(tmp_path, CLEAN), allowed={}) == []


def test_allowed_exceptions_are_lazy_and_not_stale(tmp_path: Path) -> None:
    allowed = {(f"{PACKAGE}.ros.frame_sources", f"{PACKAGE}.data.pool"): "test"}
    lazy = {"ros/frame_sources.py": "def open_it():\n    from sqgan_ros.data.pool import FramePool\n"}
    assert check(_tree(tmp_path / "lazy", {**CLEAN, **lazy}), allowed=allowed) == []
    eager = {"ros/frame_sources.py": "from sqgan_ros.data.pool import FramePool\n"}
    problems = check(_tree(tmp_path / "eager", {**CLEAN, **eager}), allowed=allowed)
    assert any("must stay inside a function" in p for p in problems), problems
    problems = check(_tree(tmp_path / "gone", CLEAN), allowed=allowed)
    assert any("stale exception" in p for p in problems), problems


@pytest.mark.parametrize(("change", "expected"), [
    ({"data/datasets.py": "from sqgan_ros.data.pool import FramePool\n",
      "data/pool.py": "def f():\n    from sqgan_ros.data.datasets import SPLIT_SEEDS\n"},
     "import cycle: sqgan_ros.data.datasets <-> sqgan_ros.data.pool"),
    ({"codec/bench.py": "def main():\n    from sqgan_ros.api import SemanticEncoder\n"},
     "'codec' imports sqgan_ros.api, a higher layer"),
    ({"video/evaluate.py": "from sqgan_ros.evaluation import sweep\n"},
     "runtime part 'video' imports tool sqgan_ros.evaluation.sweep"),
    ({"ros/camera_source.py": "from sqgan_ros.ros.tools import run_graph\n"},
     "runtime part 'ros' imports tool sqgan_ros.ros.tools.run_graph"),
    ({"training/cli.py": "from sqgan_ros.evaluation import sweep\n"},
     "'training' imports sqgan_ros.evaluation.sweep, a higher layer"),
    ({"bitstream/priors.py": "def fit():\n    import torch\n"}, "bitstream imports torch"),
    ({"bitstream/priors.py": "from sqgan_ros.labels import x\n", "labels.py": "import torch\n"},
     "bitstream imports torch through sqgan_ros.labels -> torch"),
    ({"evaluation/pipelines.py": "def run():\n    import rclpy\n"}, "imports rclpy outside sqgan_ros.ros"),
    ({"evaluation/sweep.py": "from sqgan_ros.msg import SemanticFrame\n"},
     "imports sqgan_ros.msg outside sqgan_ros.ros"),
    ({"evaluation/sweep.py": "from sqgan_ros.ros import encoder_node\n"},
     "imports ROS through sqgan_ros.ros.encoder_node -> rclpy"),
    ({"evaluation/sweep.py": "from sqgan_ros.ros import size\n", "ros/size.py": "from sqgan_ros.ros import nodes\n",
      "ros/nodes.py": "from rclpy.node import Node\n"},
     "imports ROS through sqgan_ros.ros.size -> sqgan_ros.ros.nodes -> rclpy.node"),
    ({"newpart/x.py": "import numpy\n"}, "part 'newpart' is in no layer"),
])
def test_checker_finds_each_violation(tmp_path: Path, change: dict[str, str], expected: str) -> None:
    problems = check(_tree(tmp_path, {**CLEAN, **change}), allowed={})
    assert any(expected in p for p in problems), problems
