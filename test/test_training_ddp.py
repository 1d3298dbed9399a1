"""DDP on CPU: 2 gloo processes train two steps and end with identical weights on both ranks."""

from __future__ import annotations

import hashlib
import os
import socket

import torch
import torch.multiprocessing as mp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world),
                      RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from test_training_stages import TinyScenes, tiny_config

    from sqgan_ros.codec.config import get_config
    from sqgan_ros.codec.model import SQGAN
    from sqgan_ros.training.config import config_from_dict
    from sqgan_ros.training.distributed import cleanup_distributed, init_distributed
    from sqgan_ros.training.trainer import Trainer

    info = init_distributed("cpu")
    try:
        torch.manual_seed(100 + rank)  # different init per rank: DDP must broadcast rank 0's weights
        model = SQGAN(get_config("tiny"))
        cfg = config_from_dict(tiny_config(steps=2, gan_start=1, batch_size=2))
        trainer = Trainer(cfg, model, TinyScenes(8), out_dir, info)
        trainer.fit([1, 2], max_steps=3)  # stage 1 (2 steps, GAN on at step 1) + 1 step of stage 2
        digest = hashlib.sha256()
        for module in (trainer.model, trainer.disc):
            for key, value in sorted(module.state_dict().items()):
                digest.update(key.encode())
                digest.update(value.detach().contiguous().numpy().tobytes())
        with open(os.path.join(out_dir, f"rank{rank}.sha"), "w") as handle:
            handle.write(f"{digest.hexdigest()} {trainer.stage} {trainer.step}")
    finally:
        cleanup_distributed()


def test_ddp_two_cpu_processes_identical_weights(tmp_path) -> None:
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    rank0 = (tmp_path / "rank0.sha").read_text().split()
    rank1 = (tmp_path / "rank1.sha").read_text().split()
    assert rank0 == rank1
    assert rank0[1:] == ["2", "1"]
    assert (tmp_path / "stage1.safetensors").is_file()  # written by rank 0 only
