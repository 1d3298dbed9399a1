"""Bundled segmenter file: save/load round trip, strict keys, malformed files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from sqgan_ros.segmentation import BundledSegmenter, SegmenterFileError, SegNet, SegNetConfig, load_segnet, save_segnet

TINY = SegNetConfig(input_size=(32, 64), channels=(8, 8, 16), blocks=(1, 1, 1), decoder_channels=8)


def _randomised(config: SegNetConfig = TINY) -> SegNet:
    torch.manual_seed(0)
    net = SegNet(config)
    with torch.no_grad():  # non-trivial BN statistics so a lost buffer would show
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return net.eval()


def test_round_trip_same_predictions(tmp_path: Path) -> None:
    net = _randomised()
    path = tmp_path / "seg.safetensors"
    save_segnet(path, net, info={"val_miou": 0.5})
    loaded, info = load_segnet(path)
    assert info == {"val_miou": 0.5}
    assert loaded.config == TINY
    x = torch.rand(2, 3, 32, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), net(x))
    image = np.random.default_rng(0).integers(0, 256, (50, 80, 3), dtype=np.uint8)
    np.testing.assert_array_equal(BundledSegmenter(path).segment(image),
                                  BundledSegmenter(net=net).segment(image))


def _rewrite(path: Path, tensors: dict, metadata: dict) -> None:
    save_file(tensors, str(path), metadata=metadata)


def _saved(tmp_path: Path) -> tuple[Path, dict, dict]:
    path = tmp_path / "seg.safetensors"
    save_segnet(path, _randomised())
    from safetensors import safe_open
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    return path, load_file(str(path)), metadata


def test_strict_missing_tensor(tmp_path: Path) -> None:
    path, tensors, metadata = _saved(tmp_path)
    tensors.pop(next(iter(tensors)))
    _rewrite(path, tensors, metadata)
    with pytest.raises(SegmenterFileError, match="missing"):
        load_segnet(path)


def test_strict_unexpected_tensor(tmp_path: Path) -> None:
    path, tensors, metadata = _saved(tmp_path)
    tensors["extra.weight"] = torch.zeros(1)
    _rewrite(path, tensors, metadata)
    with pytest.raises(SegmenterFileError, match="unexpected"):
        BundledSegmenter(path)


def test_strict_wrong_shape(tmp_path: Path) -> None:
    path, tensors, metadata = _saved(tmp_path)
    tensors["classifier.weight"] = torch.zeros(20, 9, 1, 1)
    _rewrite(path, tensors, metadata)
    with pytest.raises(SegmenterFileError, match="classifier.weight"):
        load_segnet(path)


def test_config_mismatch_detected(tmp_path: Path) -> None:
    path, tensors, metadata = _saved(tmp_path)
    header = json.loads(metadata["sqgan_ros_segmenter"])
    header["config"]["decoder_channels"] = 16
    _rewrite(path, tensors, {"sqgan_ros_segmenter": json.dumps(header)})
    with pytest.raises(SegmenterFileError):
        load_segnet(path)


@pytest.mark.parametrize("edit", [
    lambda h: h.update(format_version=99),
    lambda h: h.update(classes=["road"] * 20),
    lambda h: h["config"].update(colour=True),
    lambda h: h.pop("config"),
])
def test_bad_metadata(tmp_path: Path, edit) -> None:
    path, tensors, metadata = _saved(tmp_path)
    header = json.loads(metadata["sqgan_ros_segmenter"])
    edit(header)
    _rewrite(path, tensors, {"sqgan_ros_segmenter": json.dumps(header)})
    with pytest.raises(SegmenterFileError):
        load_segnet(path)


def test_foreign_or_missing_files(tmp_path: Path) -> None:
    with pytest.raises(SegmenterFileError, match="not found"):
        load_segnet(tmp_path / "nope.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(SegmenterFileError):
        load_segnet(junk)
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(plain))
    with pytest.raises(SegmenterFileError, match="metadata"):
        load_segnet(plain)


def test_segnet_config_validation() -> None:
    with pytest.raises(ValueError):
        SegNetConfig(input_size=(30, 64))
    with pytest.raises(ValueError):
        SegNetConfig(num_classes=19)
    with pytest.raises(ValueError):
        SegNetConfig(channels=(8, 8))
    with pytest.raises(ValueError):
        SegNetConfig.from_dict({"input_size": [32, 64], "bogus": 1})
    assert SegNetConfig.from_dict(TINY.to_dict()) == TINY


def test_constructor_arguments() -> None:
    with pytest.raises(ValueError):
        BundledSegmenter("x.safetensors", net=SegNet(TINY))
    with pytest.raises(TypeError):
        BundledSegmenter(net=torch.nn.Conv2d(3, 20, 1))
    with pytest.raises(TypeError):
        save_segnet("x.safetensors", torch.nn.Conv2d(3, 20, 1))


def test_fused_network_matches_batchnorm_network() -> None:
    net = _randomised()
    fused = net.fused()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())  # original untouched
    x = torch.rand(2, 3, 32, 64)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), net(x), rtol=1e-4, atol=1e-5)
