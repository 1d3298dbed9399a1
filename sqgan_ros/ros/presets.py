"""Class-weight presets (``config/class_weights/*.yaml``): where they are, what they hold, which one is in use.

A preset is a parameters file that ``ros2 param load`` accepts (``/**:`` -> ``ros__parameters``
-> ``class_weights``); the encoder's start-up line names the preset its weights match.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

__all__ = ["preset_dirs", "read_preset", "describe_weights", "preset_named"]


def preset_dirs() -> list[Path]:
    """Folders of class-weight presets: this checkout's ``config/class_weights``, then the installed one."""
    dirs = [Path(__file__).resolve().parents[2] / "config" / "class_weights"]
    try:
        from ament_index_python.packages import get_package_share_directory

        dirs.append(Path(get_package_share_directory("sqgan_ros")) / "config" / "class_weights")
    except Exception:  # no ament index (pip install, or no ROS sourced)
        pass
    return [d for d in dirs if d.is_dir()]


def read_preset(path: str | Path) -> dict[str, float]:
    """The class weights of a preset file (``/**:`` -> ``ros__parameters`` -> ``class_weights``).

    Classes the file leaves out keep their default weight.

    Raises:
        ValueError: not a preset file.
    """
    import yaml

    from sqgan_ros.labels import UNIFORM_RUNTIME_WEIGHTS

    data = yaml.safe_load(Path(path).read_text())
    try:
        weights = data["/**"]["ros__parameters"]["class_weights"]
    except (KeyError, TypeError):
        raise ValueError(f"{path}: not a class-weight preset (/**: ros__parameters: class_weights:)") from None
    return {**UNIFORM_RUNTIME_WEIGHTS, **{str(k): float(v) for k, v in weights.items()}}


def describe_weights(weights: Mapping[str, float]) -> str:
    """``uniform``, ``preset <name>`` (a shipped preset with exactly these weights), or the weights != 1."""
    weights = dict(weights)
    if all(w == 1.0 for w in weights.values()):
        return "uniform"
    name = preset_named(weights)
    return f"preset {name}" if name else "custom (" + ", ".join(
        f"{k}={w:g}" for k, w in weights.items() if w != 1.0) + ")"


def preset_named(weights: Mapping[str, float]) -> str | None:
    """The name of the shipped preset with exactly these class weights, or None."""
    for folder in preset_dirs():
        for path in sorted(folder.glob("*.yaml")):
            try:
                if read_preset(path) == dict(weights):
                    return path.stem
            except (OSError, ValueError):
                continue
    return None
