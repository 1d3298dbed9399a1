"""make_segmenter: spec parsing and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sqgan_ros.segmentation import (
    BundledSegmenter,
    NullSegmenter,
    SegmenterFileError,
    SegNet,
    SegNetConfig,
    TorchScriptSegmenter,
    make_segmenter,
    save_segnet,
)

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")

TINY = SegNetConfig(input_size=(32, 64), channels=(8, 8, 16), blocks=(1, 1, 1), decoder_channels=8)


def test_none_and_bundled(tmp_path: Path) -> None:
    assert isinstance(make_segmenter("none"), NullSegmenter)
    assert isinstance(make_segmenter(" None "), NullSegmenter)
    path = tmp_path / "seg.safetensors"
    save_segnet(path, SegNet(TINY))
    segmenter = make_segmenter("bundled", bundled_path=path)
    assert isinstance(segmenter, BundledSegmenter) and segmenter.input_size == (32, 64)


def test_bundled_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SegmenterFileError, match="not found"):
        make_segmenter("bundled", bundled_path=tmp_path / "missing.safetensors")


def test_torchscript_by_suffix(tmp_path: Path) -> None:
    for suffix in (".pt", ".ts"):
        path = tmp_path / f"model{suffix}"
        torch.jit.script(torch.nn.Conv2d(3, 19, 1)).save(str(path))
        assert isinstance(make_segmenter(str(path), class_mapping={0: "road"}), TorchScriptSegmenter)


@pytest.mark.parametrize("spec, error", [
    ("deeplab", ValueError),
    ("model.pth", ValueError),
    ("", ValueError),
    (None, TypeError),
    (3, TypeError),
])
def test_bad_specs(spec: object, error: type) -> None:
    with pytest.raises(error):
        make_segmenter(spec)


def test_missing_model_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        make_segmenter(str(tmp_path / "missing.pt"))


def test_options_that_do_not_apply() -> None:
    with pytest.raises(ValueError, match="class_mapping"):
        make_segmenter("none", class_mapping={0: "road"})
