"""Where the bundled model files (``models/*.safetensors``) are, however the package was installed.

Looked for, in order, and the first existing file wins::

    source checkout                             <repo>/sqgan_ros -> <repo>/models/<name>
    ament index (a sourced colcon install)     <share>/sqgan_ros/models/<name>
    install layout, without a sourced index    <prefix>/lib/pythonX.Y/site-packages/sqgan_ros
                                                 -> <prefix>/share/sqgan_ros/models/<name>

A colcon install puts the Python package under ``lib/`` and the models under ``share/``, so a
path relative to the module alone (the source-checkout rule) misses them there. The checkout
comes first: code run from a checkout uses that checkout's models even when some install is
sourced. No ROS is needed: the ament index is consulted only when ``ament_index_python`` is
importable and ``AMENT_PREFIX_PATH`` is set.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PACKAGE_NAME", "DEFAULT_MODEL_NAME", "SEGMENTER_MODEL_NAME", "bundled_model_path", "candidate_paths"]

PACKAGE_NAME = "sqgan_ros"
DEFAULT_MODEL_NAME = "default.safetensors"
SEGMENTER_MODEL_NAME = "segmenter.safetensors"
_PACKAGE_DIR = Path(__file__).resolve().parent


def _ament_share() -> Path | None:
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:
        return None
    try:
        return Path(get_package_share_directory(PACKAGE_NAME))
    except (PackageNotFoundError, ValueError, LookupError, OSError):  # OSError: no AMENT_PREFIX_PATH
        return None


def candidate_paths(name: str, package_dir: Path | None = None) -> list[Path]:
    """Every place :func:`bundled_model_path` looks for ``name``, in order.

    Args:
        name: file name inside ``models/`` (e.g. ``default.safetensors``).
        package_dir: the ``sqgan_ros`` package directory (default: this package's).
    """
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ValueError(f"a bundled model is named by a plain file name, got {name!r}")
    package_dir = Path(package_dir) if package_dir is not None else _PACKAGE_DIR
    out = [package_dir.parent / "models" / name]
    share = _ament_share()
    if share is not None:
        out.append(share / "models" / name)
    site = package_dir.parent
    if site.name in ("site-packages", "dist-packages") and len(package_dir.parents) >= 4:
        out.append(package_dir.parents[3] / "share" / PACKAGE_NAME / "models" / name)
    return out


def bundled_model_path(name: str, package_dir: Path | None = None) -> Path:
    """The bundled model file ``name``: the first candidate that exists, else the checkout path.

    The caller reports a missing file (the returned path then says where a source checkout
    would keep it).

    Args:
        name: file name inside ``models/``.
        package_dir: the ``sqgan_ros`` package directory (default: this package's).
    """
    candidates = candidate_paths(name, package_dir)
    for path in candidates:
        if path.is_file():
            return path
    return candidates[0]
