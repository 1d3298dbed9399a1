"""Process-group setup: one code path for single process, torchrun multi-GPU and multi-node.

Under ``torchrun`` (``WORLD_SIZE`` > 1 in the environment) the default process group is created
with NCCL on CUDA and gloo on CPU; otherwise nothing is initialised and rank 0 of 1 is returned.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits.

    Args:
        rank: global rank.
        world_size: number of processes.
        local_rank: rank on this node (selects the GPU).
        device: the torch device this process trains on.
    """

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """True on rank 0 (the only rank that logs and saves)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when a process group with more than one rank is active."""
        return self.world_size > 1


def resolve_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """Pick a device: ``auto`` -> ``cuda:<local_rank>`` if available else ``cpu``.

    Args:
        name: "auto", "cpu", "cuda" or "cuda:N".
        local_rank: GPU index for "auto"/"cuda" under torchrun.
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        name = f"cuda:{local_rank}"
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda requested but CUDA is not available")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported device {name!r}; use auto, cpu or cuda")
    return device


def init_distributed(device: str = "auto") -> DistInfo:
    """Initialise the process group if launched by torchrun and return this process's DistInfo.

    Args:
        device: device request ("auto", "cpu", "cuda").
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    if world > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    if dist.is_initialized():
        world, rank = dist.get_world_size(), dist.get_rank()
    return DistInfo(rank, world, local_rank, dev)


def cleanup_distributed() -> None:
    """Destroy the process group if one is active."""
    if dist.is_initialized():
        dist.destroy_process_group()
