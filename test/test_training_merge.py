"""Merging the semantic branch of one run with the image branch of another (parallel stages 1/2)."""

from pathlib import Path

import pytest
import torch

from sqgan_ros.training.checkpoint import CheckpointMeta, load_checkpoint, read_meta, save_checkpoint
from sqgan_ros.training.cli import main
from sqgan_ros.training.config import load_config
from sqgan_ros.training.export import build_model

TINY = Path(__file__).resolve().parents[1] / "config" / "train" / "tiny.yaml"


def _save_run(path: Path, seed: int, config_dict: dict, stage: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build_model(load_config(TINY))
    save_checkpoint(path, {"model": model}, {}, CheckpointMeta(stage, 7 * stage, config_dict))
    return model


def test_merge_takes_each_branch_from_its_run(tmp_path):
    config = load_config(TINY).to_dict()
    sem = _save_run(tmp_path / "a" / "stage1", 1, config, 1)
    img = _save_run(tmp_path / "b" / "stage2", 2, config, 2)
    assert main(["merge", "--semantic", str(tmp_path / "a" / "stage1"), "--image", str(tmp_path / "b" / "stage2"),
                 "--out", str(tmp_path / "c" / "merged")]) == 0
    merged = build_model(load_config(TINY))
    load_checkpoint(tmp_path / "c" / "merged", {"model": merged}, restore_rng=False)
    for name, value in merged.state_dict().items():
        source = sem if name.startswith("semantic.") else img
        assert torch.equal(value, source.state_dict()[name]), name
    assert any(not torch.equal(sem.state_dict()[n], img.state_dict()[n]) for n in sem.state_dict()
               if n.startswith("image.") and sem.state_dict()[n].is_floating_point())
    assert read_meta(tmp_path / "c" / "merged").extra["semantic_steps"] == 7


def test_merge_refuses_different_models(tmp_path):
    config = load_config(TINY).to_dict()
    _save_run(tmp_path / "a", 1, config, 1)
    _save_run(tmp_path / "b", 2, {**config, "model": "small"}, 2)
    from sqgan_ros.training.merge import merge_branches
    with pytest.raises(ValueError, match="different models"):
        merge_branches(tmp_path / "a", tmp_path / "b", tmp_path / "c")


def test_cli_fine_tunes_from_a_model_file(tmp_path, capsys):
    """``sqgan-train --init <model file>``: one stage-2 step starts from the file's weights."""
    import yaml

    from sqgan_ros.codec.model_file import load_model, save_model

    config = yaml.safe_load(TINY.read_text())
    config.setdefault("stages", {})["image"] = {"steps": 1}
    one_step = tmp_path / "one_step.yaml"
    one_step.write_text(yaml.safe_dump(config))
    torch.manual_seed(3)
    source = build_model(load_config(TINY)).eval()
    save_model(tmp_path / "shipped.safetensors", source)
    assert main(["--config", str(one_step), "--stage", "2", "--init", str(tmp_path / "shipped.safetensors"),
                 "--out", str(tmp_path / "ft"), "--device", "cpu"]) == 0
    assert "initial weights: model file" in capsys.readouterr().out
    tuned = build_model(load_config(TINY))
    load_checkpoint(tmp_path / "ft" / "stage2", {"model": tuned}, restore_rng=False)
    shipped = load_model(tmp_path / "shipped.safetensors").model.state_dict()
    state = tuned.state_dict()
    # the semantic branch is frozen in stage 2: exactly the shipped weights
    assert all(torch.equal(state[n], v) for n, v in shipped.items() if n.startswith("semantic."))
    # the image branch took one small step away from the shipped weights, not from a random init
    torch.manual_seed(99)
    fresh = build_model(load_config(TINY)).state_dict()
    names = [n for n, v in shipped.items() if n.startswith("image.") and v.is_floating_point() and v.numel() > 16]

    def gap(other):
        return sum(float((other[n] - shipped[n]).abs().mean()) for n in names)

    assert gap(state) < 0.1 * gap(fresh)
    with pytest.raises(SystemExit, match="no such checkpoint or model file"):
        main(["--config", str(TINY), "--stage", "2", "--init", str(tmp_path / "missing.safetensors"),
              "--out", str(tmp_path / "x"), "--max-steps", "1", "--device", "cpu"])
