"""scripts/train_gpu.sh's round (sqgan_ros.training.budget_run) on a CPU with a tiny model and a few seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml
from test_training_stages import tiny_config


def test_budget_round_trains_both_branches_from_the_states_and_exports_a_model(tmp_path, repo_root) -> None:
    from sqgan_ros.codec.model_file import load_model

    cfg = tiny_config(steps=100000, gan_start=100000)
    cfg["data"] = {"size": [32, 64], "crop": None, "synthetic_ratio": 1.0, "length": 64, "augment": False,
                   "copy_paste_p": 0.0, "synthetic_pool": str(tmp_path / "pool")}
    cfg["export_batches"] = 1
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    init = tmp_path / "init.safetensors"
    subprocess.run([sys.executable, "-c", "import torch; from sqgan_ros.codec.config import get_config; "
                    "from sqgan_ros.codec.model import SQGAN; from sqgan_ros.codec.model_file import save_model; "
                    f"torch.manual_seed(0); save_model({str(init)!r}, SQGAN(get_config('tiny')))"],
                   check=True, cwd=repo_root)
    cmd = [sys.executable, "-m", "sqgan_ros.training.budget_run", "--minutes", "0.3", "--out", str(tmp_path / "r1"),
           "--config", str(tmp_path / "c.yaml"), "--state", str(tmp_path / "none"), "--init", str(init),
           "--device", "cpu", "--pool-count", "16"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=400, cwd=repo_root, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    summary = json.loads((tmp_path / "r1" / "summary.json").read_text())
    assert summary["phases"]["pool"]["frames"] == 16
    for key in ("s1", "s2", "s3"):
        assert summary["phases"][key]["step_after"] > 0, key
    loaded = load_model(tmp_path / "r1" / "model.safetensors")
    assert loaded.config.name == "tiny" and loaded.extra_metadata["trained_stage"] == 3
    # a second round starts from the first round's states (as a GPU round starts from the committed ones)
    second = cmd.copy()
    second[second.index(str(tmp_path / "r1"))] = str(tmp_path / "r2")
    second[second.index(str(tmp_path / "none"))] = str(tmp_path / "r1" / "train_state")
    again = subprocess.run(second, capture_output=True, text=True, timeout=400, cwd=repo_root, env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    resumed = json.loads((tmp_path / "r2" / "summary.json").read_text())
    for key in ("s1", "s2"):
        assert resumed["phases"][key]["step_before"] == summary["phases"][key]["step_after"], key
        assert resumed["phases"][key]["step_after"] > resumed["phases"][key]["step_before"], key
    assert "pool" not in resumed["phases"]  # rendered once
    # a candidate from the states alone (a long CPU run's end): no stage 1/2 steps, stage 3 and export
    third = cmd.copy()
    third[third.index(str(tmp_path / "r1"))] = str(tmp_path / "r3")
    third[third.index(str(tmp_path / "none"))] = str(tmp_path / "r2" / "train_state")
    done = subprocess.run(third + ["--phases", "B,export"], capture_output=True, text=True, timeout=400,
                          cwd=repo_root, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    finetuned = json.loads((tmp_path / "r3" / "summary.json").read_text())
    assert "A" not in finetuned["phases"] and finetuned["phases"]["s3"]["step_after"] > 0
    for key in ("s1", "s2"):
        assert finetuned["phases"][key]["step_after"] == resumed["phases"][key]["step_after"], key
    assert load_model(tmp_path / "r3" / "model.safetensors").extra_metadata["trained_stage"] == 3
