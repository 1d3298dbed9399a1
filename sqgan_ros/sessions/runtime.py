"""Where a session's model comes from and how many CPU threads its networks use."""

from __future__ import annotations

import os
from pathlib import Path

from sqgan_ros.bundled_models import DEFAULT_MODEL_NAME, bundled_model_path

__all__ = ["default_model_path", "resolve_model_path", "usable_cpu_count", "auto_torch_threads",
           "configure_torch_threads", "DEFAULT_MODEL_NAME"]


def default_model_path() -> Path:
    """Path of the bundled model file (see :mod:`sqgan_ros.bundled_models` for where it is looked for)."""
    return bundled_model_path(DEFAULT_MODEL_NAME)


def resolve_model_path(value: str) -> Path:
    """The model file named by a ``model_file`` parameter (empty = bundled default).

    Raises:
        FileNotFoundError: with a one-line message saying how to get a model.
    """
    path = Path(value).expanduser() if value else default_model_path()
    if not path.is_file():
        hint = ("train one (see README.md) or set model_file" if not value
                else "check the model_file parameter")
        raise FileNotFoundError(f"model file not found: {path} ({hint})")
    return path


def usable_cpu_count() -> int:
    """CPUs this process may run on (affinity / cpuset aware where the OS says), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def auto_torch_threads(cpus: int | None = None) -> int:
    """The ``torch_threads: 0`` (auto) choice: ``max(1, cpus // 2)``.

    A teleop host runs at least two busy processes (camera driver + encoder, or encoder +
    decoder when testing on one machine). torch's OpenMP pool spins on every thread it owns; two
    processes each owning all cores slow each other down several times (measured on 2 cores:
    510 ms vs 135 ms per frame for the same transmitter), so each node takes half the cores.

    Args:
        cpus: CPU count to split (None: :func:`usable_cpu_count`).
    """
    n = usable_cpu_count() if cpus is None else int(cpus)
    return max(1, n // 2)


def configure_torch_threads(requested: int) -> int:
    """Apply a node's ``torch_threads`` parameter to this process (call before the model runs).

    Sets ``torch.set_num_threads`` (intra-op) and, where torch still allows it,
    ``torch.set_num_interop_threads(1)`` (the nodes run one model call at a time).

    Args:
        requested: threads, or 0 for :func:`auto_torch_threads`.

    Returns:
        The number of intra-op threads in use.

    Raises:
        ValueError: ``requested`` is negative or not an int.
    """
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 0:
        raise ValueError(f"torch_threads must be an integer >= 0, got {requested!r}")
    import torch

    threads = requested if requested > 0 else auto_torch_threads()
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or inter-op work already ran in this process
        pass
    return torch.get_num_threads()
