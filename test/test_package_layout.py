"""The ROS package is laid out and declared as colcon, rosdep, ros2 run and pip expect."""

from __future__ import annotations

import ast
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


def test_library_imports_without_rclpy() -> None:
    code = ("import sys; sys.modules['rclpy'] = None\n"
            "import sqgan_ros, sqgan_ros.labels, sqgan_ros.ros, sqgan_ros.ros.image_conversion,"
            " sqgan_ros.ros.frame_sources\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


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
