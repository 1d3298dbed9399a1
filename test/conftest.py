"""Shared pytest setup.

* DDS isolation: each test session gets its own ROS_DOMAIN_ID (unless one is set explicitly
  with SQGAN_TEST_DOMAIN_ID) and discovery limited to this host, so parallel runs and other
  engineers' nodes never see each other. Subprocesses inherit it through ``os.environ``.
* ``ros``-marked tests need rclpy and the built ``sqgan_ros.msg`` (``source scripts/env.sh``).
  Without them they are skipped with the reason, except under ``SQGAN_REQUIRE_ROS=1`` (set by
  scripts/test.sh), where a missing ROS setup is an error, not a skip.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _pick_domain_id() -> int:
    explicit = os.environ.get("SQGAN_TEST_DOMAIN_ID")
    if explicit:
        return int(explicit)
    # Fast DDS on Linux supports domain ids 0..232; avoid 0 (everyone's default).
    return random.SystemRandom().randint(1, 232)


os.environ["ROS_DOMAIN_ID"] = str(_pick_domain_id())
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")

_ROS_PROBLEM: str | None = None
_ROS_CHECKED = False


def ros_problem() -> str | None:
    """Why ROS tests cannot run here (None when rclpy and sqgan_ros.msg import)."""
    global _ROS_PROBLEM, _ROS_CHECKED
    if not _ROS_CHECKED:
        _ROS_CHECKED = True
        try:
            import rclpy  # noqa: F401, PLC0415

            from sqgan_ros.msg import SemanticFrame  # noqa: F401, PLC0415
        except Exception as exc:  # ImportError, or a typesupport library that fails to load
            _ROS_PROBLEM = f"ROS not available ({type(exc).__name__}: {exc}); run: source scripts/env.sh"
    return _ROS_PROBLEM


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("ros") is None:
        return
    problem = ros_problem()
    if problem is None:
        return
    if os.environ.get("SQGAN_REQUIRE_ROS") == "1":
        pytest.fail(problem, pytrace=False)
    pytest.skip(problem)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository checkout the tests run from."""
    return REPO_ROOT


@pytest.fixture
def ros_subprocess_env() -> dict[str, str]:
    """Environment for a child process that joins this test session's DDS domain."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-init ``tiny`` model file (seed 0), written once per session."""
    import torch

    from sqgan_ros.codec.config import get_config
    from sqgan_ros.codec.model import SQGAN
    from sqgan_ros.codec.model_file import save_model

    path = tmp_path_factory.mktemp("tiny_model") / "tiny.safetensors"
    torch.manual_seed(0)
    save_model(path, SQGAN(get_config("tiny")).eval())
    return path


@contextlib.contextmanager
def own_domain(offset: int) -> Iterator[dict[str, str]]:
    """A test module's own DDS domain: yields the node processes' environment (unbuffered output)
    and moves this process (its probe nodes) to the same domain until the block ends.

    Args:
        offset: distinct per test module (see :func:`domain_env`).
    """
    env = domain_env(offset)
    env["PYTHONUNBUFFERED"] = "1"
    old = os.environ["ROS_DOMAIN_ID"]
    os.environ["ROS_DOMAIN_ID"] = env["ROS_DOMAIN_ID"]
    try:
        yield env
    finally:
        os.environ["ROS_DOMAIN_ID"] = old


def domain_env(offset: int) -> dict[str, str]:
    """Environment for node processes on a DDS domain of their own (the session's id shifted).

    Args:
        offset: distinct per test module, so graphs of different modules never meet.
    """
    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str((int(os.environ.get("ROS_DOMAIN_ID", "0")) + offset) % 232 + 1)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return env
