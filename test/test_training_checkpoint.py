"""Checkpoint save -> resume gives bit-identical next-step weights; config parsing is strict."""

from __future__ import annotations

import pytest
import torch
import yaml
from test_training_stages import TinyScenes, make_trainer

from sqgan_ros.training.checkpoint import CheckpointError, checkpoint_paths, load_checkpoint, read_meta
from sqgan_ros.training.config import ConfigError, config_from_dict, load_config


def _weights(trainer) -> dict[str, torch.Tensor]:
    state = {f"model.{k}": v for k, v in trainer.model.state_dict().items()}
    state.update({f"disc.{k}": v for k, v in trainer.disc.state_dict().items()})
    return state


def test_resume_continues_identically(tmp_path) -> None:
    # gan starts at step 1 so discriminator, its optimizer and the adaptive weight are all exercised
    ref = make_trainer(tmp_path / "ref", steps=4, gan_start=1)
    ref.fit([1], max_steps=2)
    ref.save(tmp_path / "mid")
    ref.fit([1], max_steps=2)
    expected = _weights(ref)

    resumed = make_trainer(tmp_path / "res", steps=4, gan_start=1)
    torch.manual_seed(1234)  # the RNG state must come from the checkpoint
    meta = resumed.load(tmp_path / "mid")
    assert (meta.stage, meta.step) == (1, 2)
    resumed.fit([1], max_steps=2)
    got = _weights(resumed)
    assert got.keys() == expected.keys()
    for key in expected:
        assert torch.equal(got[key], expected[key]), key


def test_checkpoint_files_and_strict_loading(tmp_path) -> None:
    trainer = make_trainer(tmp_path, steps=1)
    trainer.fit([1])
    tensors, sidecar = checkpoint_paths(tmp_path / "checkpoint")
    assert tensors.is_file() and sidecar.is_file()
    assert read_meta(tensors).step == 1
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "checkpoint", {"nope": torch.nn.Linear(2, 2)})
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "checkpoint", {"disc": torch.nn.Linear(2, 2)})
    with pytest.raises(CheckpointError):
        read_meta(tmp_path / "missing")


def test_resume_into_next_stage(tmp_path) -> None:
    trainer = make_trainer(tmp_path, steps=2)
    trainer.fit([1])
    other = make_trainer(tmp_path, steps=2)
    other.load()
    other.fit([1, 2], max_steps=1)
    assert (other.stage, other.step) == (2, 1)


def test_unknown_yaml_key_raises(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"model": "tiny", "optim": {"lr": 1e-3, "momentum": 0.9}}))
    with pytest.raises(ConfigError, match="momentum"):
        load_config(path)
    with pytest.raises(ConfigError, match="unknown"):
        config_from_dict({"modle": "tiny"})
    with pytest.raises(ConfigError):
        config_from_dict({"batch_size": "8"})
    with pytest.raises(ConfigError):
        config_from_dict({"stages": {"semantic": {"steps": 1}, "bogus": {"steps": 1}}})
    with pytest.raises(ConfigError):
        config_from_dict({"keep_ratio": {"levels": [0.5, 0.2]}})
    good = config_from_dict({"model": "tiny", "data": {"crop": [64, 128]}, "stages": {"image": {"steps": 5}}})
    assert good.data.crop == (64, 128) and good.stage_steps(2) == 5 and good.stage_steps(1) == 1000


@pytest.mark.parametrize("name", ["tiny", "small", "paper"])
def test_shipped_configs_parse(name) -> None:
    from pathlib import Path

    cfg = load_config(Path(__file__).resolve().parents[1] / "config" / "train" / f"{name}.yaml")
    assert cfg.model == name


@pytest.mark.parametrize("name", ["default_cpu", "default_cpu_round2", "finetune_footage"])
def test_bundled_model_configs_parse_as_small(name) -> None:
    from pathlib import Path

    cfg = load_config(Path(__file__).resolve().parents[1] / "config" / "train" / f"{name}.yaml")
    assert cfg.model == "small"


def test_init_from_a_model_file_or_a_checkpoint(tmp_path) -> None:
    from sqgan_ros.codec.config import get_config
    from sqgan_ros.codec.model import SQGAN
    from sqgan_ros.codec.model_file import save_model
    from sqgan_ros.training.checkpoint import CheckpointMeta, load_initial_weights, save_checkpoint

    torch.manual_seed(5)
    source = SQGAN(get_config("tiny")).eval()
    save_model(tmp_path / "m.safetensors", source)
    target = SQGAN(get_config("tiny"))
    assert load_initial_weights(tmp_path / "m.safetensors", target) == "model file"
    for (name, a), b in zip(source.state_dict().items(), target.state_dict().values()):
        assert torch.equal(a, b), name

    save_checkpoint(tmp_path / "ck", {"model": source}, {}, CheckpointMeta(stage=2, step=0, config={}))
    other = SQGAN(get_config("tiny"))
    assert load_initial_weights(tmp_path / "ck", other) == "checkpoint"
    assert torch.equal(next(iter(other.state_dict().values())), next(iter(source.state_dict().values())))

    # an int4-stored file (as the bundled model is) starts from its dequantized weights
    from sqgan_ros.codec.model_file import convert_model_file, load_model

    convert_model_file(tmp_path / "m.safetensors", tmp_path / "m4.safetensors", "int4")
    int4 = SQGAN(get_config("tiny"))
    assert load_initial_weights(tmp_path / "m4.safetensors", int4) == "model file"
    expected = load_model(tmp_path / "m4.safetensors").model.state_dict()
    assert all(torch.equal(v, expected[n]) for n, v in int4.state_dict().items())
    assert any(not torch.equal(v, source.state_dict()[n]) for n, v in int4.state_dict().items())
    with pytest.raises(CheckpointError, match="'tiny' model; this run trains 'small'"):
        load_initial_weights(tmp_path / "m.safetensors", SQGAN(get_config("small")))
    with pytest.raises(CheckpointError, match="no such checkpoint or model file"):
        load_initial_weights(tmp_path / "nothing.safetensors", target)
    (tmp_path / "junk.safetensors").write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="neither a training checkpoint"):
        load_initial_weights(tmp_path / "junk.safetensors", target)


def test_export_writes_model_with_learned_priors(tmp_path) -> None:
    from sqgan_ros.codec.model_file import load_model
    from sqgan_ros.training.export import export_model

    trainer = make_trainer(tmp_path, steps=1)
    trainer.fit([1])
    out = export_model(tmp_path / "checkpoint", tmp_path / "model.safetensors", batches=1, dataset=TinyScenes())
    loaded = load_model(out, "cpu")
    assert loaded.priors is not None
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[key], value), key
