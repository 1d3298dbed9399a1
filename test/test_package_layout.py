"""The ROS package is laid out and declared as colcon, rosdep, ros2 run and pip expect."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXECUTABLES = ("camera_source", "encoder_node", "decoder_node")


def test_top_level_layout() -> None:
    for name in ("sqgan_ros", "msg", "test", "package.xml", "setup.py", "CMakeLists.txt", "README.md",
                 "scripts/setup.sh", "scripts/env.sh", "scripts/test.sh", ".ci/run", "pytest.ini"):
        assert (ROOT / name).exists(), name


def test_package_xml_declares_a_format_3_interface_package() -> None:
    root = ET.parse(ROOT / "package.xml").getroot()
    assert root.tag == "package" and root.get("format") == "3"
    assert root.findtext("name") == "sqgan_ros"
    assert root.findtext("export/build_type") == "ament_cmake"
    assert root.findtext("member_of_group") == "rosidl_interface_packages"
    deps = {(child.tag, child.text) for child in root}
    required = {
        ("buildtool_depend", "ament_cmake"), ("buildtool_depend", "rosidl_default_generators"),
        ("depend", "std_msgs"), ("depend", "builtin_interfaces"),
        ("exec_depend", "rosidl_default_runtime"), ("exec_depend", "rclpy"), ("exec_depend", "sensor_msgs"),
        ("exec_depend", "launch"), ("exec_depend", "launch_ros"), ("exec_depend", "cv_bridge"),
        ("exec_depend", "rviz2"), ("exec_depend", "python3-numpy"), ("exec_depend", "python3-opencv"),
        ("exec_depend", "python3-yaml"), ("exec_depend", "python3-torch-pip"),
        ("exec_depend", "python3-safetensors-pip"), ("exec_depend", "python3-constriction-pip"),
        ("test_depend", "python3-pytest"), ("test_depend", "python3-hypothesis"),
        ("test_depend", "launch_testing"), ("test_depend", "launch_pytest"),
    }
    assert required <= deps, required - deps
    assert root.findtext("version") == _package_version()


def _package_version() -> str:
    text = (ROOT / "sqgan_ros" / "__init__.py").read_text()
    return re.search(r'__version__ = "([^"]+)"', text).group(1)


def test_cmake_generates_every_message_and_installs_launchers() -> None:
    cmake = (ROOT / "CMakeLists.txt").read_text()
    messages = sorted(p.name for p in (ROOT / "msg").glob("*.msg"))
    assert messages == ["CodecStats.msg", "FrameAck.msg", "SemanticFrame.msg"]
    for name in messages:
        assert f'"msg/{name}"' in cmake, name
    assert "ament_python_install_package" not in cmake.replace("ament_python_install_package() with", "")
    assert "set(SQGAN_ROS_EXECUTABLES camera_source encoder_node decoder_node)" in cmake


@pytest.mark.parametrize("path", sorted((ROOT / "msg").glob("*.msg")), ids=lambda p: p.name)
def test_every_message_field_is_documented(path: Path) -> None:
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines):
        code = line.split("#", 1)[0].strip()
        if not code:
            continue
        above = number - 1  # a field is documented by a trailing comment or by the comment of its block
        while above >= 0 and lines[above].strip() and not lines[above].lstrip().startswith("#"):
            above -= 1
        documented = "#" in line or (above >= 0 and lines[above].lstrip().startswith("#"))
        assert documented, f"{path.name}:{number + 1} {code!r} has no comment"


def test_setup_py_entry_points_and_library_only_dependencies() -> None:
    tree = ast.parse((ROOT / "setup.py").read_text())
    strings = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    for entry in ("sqgan-train=sqgan_ros.training.cli:main", "sqgan-eval=sqgan_ros.evaluation.cli:main",
                  "sqgan-bench=sqgan_ros.tools.bench.cli:main", "sqgan-codec=sqgan_ros.codec_cli:main"):
        assert entry in strings
    assert not any(s.startswith(("rclpy", "ros-")) for s in strings), "pip install must not need ROS"


#: Modules a plain-Python import must not need (ROS is only for sqgan_ros.ros).
ROS_MODULES = ("rclpy", "rcl_interfaces", "sensor_msgs", "std_msgs", "builtin_interfaces", "launch", "launch_ros",
               "cv_bridge", "sqgan_ros.msg")

_IMPORT_ALL = """
import importlib, json, sys
blocked, modules = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for name in blocked:
    sys.modules[name] = None  # importing it now raises ImportError
failed = {}
for module in modules:
    try:
        importlib.import_module(module)
    except Exception as exc:
        failed[module] = f"{type(exc).__name__}: {exc}"
print(json.dumps({"failed": failed}))
"""


def _modules(under: str = "sqgan_ros") -> list[str]:
    out = []
    for path in sorted((ROOT / Path(*under.split("."))).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__main__":
            continue  # running it is its purpose
        if parts[-1] == "__init__":
            parts.pop()
        out.append(".".join(parts))
    return out


def _import_all(modules: list[str], blocked: tuple[str, ...]) -> dict[str, str]:
    """Import ``modules`` in a fresh interpreter with ``blocked`` made unimportable; module -> error."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", _IMPORT_ALL, json.dumps(list(blocked)), json.dumps(modules)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])["failed"]


def _needs_ros_to_import(module: str) -> bool:
    """A module of sqgan_ros.ros whose module-level code imports a ROS package (a node, a ROS tool)."""
    path = ROOT / Path(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        if any(n == r or n.startswith(r + ".") for n in names for r in ROS_MODULES):
            return True
    return False


def test_library_imports_without_rclpy() -> None:
    """Every module outside the ROS nodes and ROS tools imports with rclpy and the messages blocked."""
    modules = _modules()
    expect_ros = {m for m in modules if m.startswith("sqgan_ros.ros.") and _needs_ros_to_import(m)}
    assert {"sqgan_ros.ros.encoder_node", "sqgan_ros.ros.decoder_node"} <= expect_ros
    failed = _import_all(sorted(set(modules) - expect_ros), ROS_MODULES)
    assert not failed, "modules that need ROS to import:\n" + "\n".join(f"{m}: {e}" for m, e in failed.items())
    assert len(modules) - len(expect_ros) > 100  # the whole library, not a sample


def test_bitstream_imports_without_torch() -> None:
    """The wire format needs numpy and constriction only: every bitstream module imports with torch blocked."""
    modules = _modules("sqgan_ros.bitstream")
    assert len(modules) >= 10
    failed = _import_all(modules, ("torch",))
    assert not failed, "bitstream modules that need torch:\n" + "\n".join(f"{m}: {e}" for m, e in failed.items())


def test_ci_runs_the_user_test_script() -> None:
    run = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in run and "exec bash scripts/test.sh" in run
    test_sh = (ROOT / "scripts" / "test.sh").read_text()
    assert "scripts/setup.sh" in test_sh and 'exec python -m pytest "$@"' in test_sh
    assert "# --- extra setup steps ---" in (ROOT / "scripts" / "setup.sh").read_text()


@pytest.mark.ros
def test_install_tree_has_launchers_and_generated_messages() -> None:
    import sqgan_ros
    import sqgan_ros.msg

    install = Path(sqgan_ros.msg.__file__).resolve().parents[5]  # <install>/lib/pythonX.Y/site-packages/sqgan_ros/msg
    assert str(ROOT / "sqgan_ros") == sqgan_ros.__path__[0], "the source tree must come first"
    for name in EXECUTABLES:
        launcher = install / "lib" / "sqgan_ros" / name
        assert launcher.is_file() and os.access(launcher, os.X_OK), launcher
        assert f"from sqgan_ros.ros.{name} import main" in launcher.read_text()
    assert (install / "share" / "sqgan_ros" / "package.xml").is_file()
    assert (install / "share" / "ament_index" / "resource_index" / "packages" / "sqgan_ros").is_file()


@pytest.mark.slow
def test_pip_install_in_a_clean_venv(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run(pip + ["-r", str(ROOT / "requirements" / "torch.txt")], check=True, env=env, timeout=1200)
    subprocess.run(pip + [str(ROOT)], check=True, env=env, timeout=1200)
    done = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import sqgan_ros, sqgan_ros.labels; print(sqgan_ros.__file__)"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert str(venv) in done.stdout
    assert (venv / "bin" / "sqgan-train").is_file()
