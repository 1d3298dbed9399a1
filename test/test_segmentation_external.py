"""TorchScript / ONNX segmenters: class mapping, output forms, preprocessing, error paths."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from sqgan_ros.labels import CLASS_INDEX, UNLABELLED
from sqgan_ros.segmentation import OnnxSegmenter, Preprocessing, TorchScriptSegmenter, load_class_mapping

# torch.jit.script is deprecated in torch >= 2.10 but still the format users ship.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


class ColourClassifier(nn.Module):
    """Their class id = index of the brightest channel + 3 * (mean > 0.5): ids 0..5, at half size."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.avg_pool2d(x, 2)
        bright = (x.mean(1, keepdim=True) > 0.5).float()
        return torch.cat([x * (1 - bright), x * bright], dim=1)


class DictLabels(nn.Module):
    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"out": (x[:, 0] > 0.5).long() * 7}


MAPPING = {0: "car", 1: "road", 2: "sky", 3: "person"}  # 4, 5 unmapped


def _scripted(tmp_path: Path, module: nn.Module) -> Path:
    path = tmp_path / "model.pt"
    torch.jit.script(module).save(str(path))
    return path


def _image() -> np.ndarray:
    image = np.zeros((8, 12, 3), np.uint8)
    image[:, :3] = (200, 10, 10)      # dark, red max -> id 0 -> car
    image[:, 3:6] = (10, 100, 10)     # dark, green max -> id 1 -> road
    image[:, 6:9] = (250, 250, 255)   # bright, blue max -> id 5 -> unmapped
    image[:, 9:] = (255, 240, 200)    # bright, red max -> id 3 -> person
    return image


def test_torchscript_mapping_and_resize(tmp_path: Path) -> None:
    segmenter = TorchScriptSegmenter(_scripted(tmp_path, ColourClassifier()), MAPPING,
                                     preprocessing=Preprocessing.raw())
    labels = segmenter.segment(_image())
    assert labels.shape == (8, 12) and labels.dtype == np.uint8
    assert (labels[:, :2] == CLASS_INDEX["car"]).all()
    assert (labels[:, 4:6] == CLASS_INDEX["road"]).all()
    assert (labels[:, 6:8] == UNLABELLED).all()
    assert (labels[:, 10:] == CLASS_INDEX["person"]).all()


def test_torchscript_yaml_mapping_and_dict_output(tmp_path: Path) -> None:
    yaml_path = tmp_path / "map.yaml"
    yaml_path.write_text("7: traffic_sign\n'0': road\n")
    segmenter = TorchScriptSegmenter(_scripted(tmp_path, DictLabels()), yaml_path,
                                     preprocessing=Preprocessing.raw(input_size=(4, 6)))
    image = np.zeros((8, 12, 3), np.uint8)
    image[:4, :, 0] = 255
    labels = segmenter.segment(image)
    assert (labels[:4] == CLASS_INDEX["traffic_sign"]).all()
    assert (labels[4:] == CLASS_INDEX["road"]).all()


def test_default_mapping_is_trainids() -> None:
    mapping = load_class_mapping(None)
    assert mapping == {i: i for i in range(19)}


@pytest.mark.parametrize("bad, error", [
    ({0: "lorry"}, ValueError),
    ({"zero": "car"}, ValueError),
    ({-1: "car"}, ValueError),
    ({1.5: "car"}, ValueError),
    (["car"], TypeError),
])
def test_bad_mappings(bad: object, error: type) -> None:
    with pytest.raises(error):
        load_class_mapping(bad)


def test_unreadable_yaml_mapping(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        load_class_mapping(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("{0: [unclosed")
    with pytest.raises(ValueError):
        load_class_mapping(bad)


def test_preprocessing_normalises_and_reorders() -> None:
    pre = Preprocessing(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), value_range=1.0, bgr=True,
                        input_size=(2, 2))
    x = torch.zeros(1, 3, 4, 4)
    x[:, 0] = 1.0
    out = pre.apply(x)
    assert out.shape == (1, 3, 2, 2)
    torch.testing.assert_close(out[0, 2], torch.ones(2, 2))   # red went last
    torch.testing.assert_close(out[0, 0], -torch.ones(2, 2))
    assert Preprocessing(value_range=255.0).apply(torch.ones(1, 3, 1, 1))[0, 0, 0, 0] > 1000
    for kwargs in ({"value_range": 2.0}, {"std": (1.0, 0.0, 1.0)}, {"input_size": (0, 3)}, {"mean": (0.0,)}):
        with pytest.raises(ValueError):
            Preprocessing(**kwargs)


def test_torchscript_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        TorchScriptSegmenter(tmp_path / "none.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model")
    with pytest.raises(ValueError):
        TorchScriptSegmenter(junk)
    with pytest.raises(TypeError):
        TorchScriptSegmenter(_scripted(tmp_path, DictLabels()), preprocessing={"bgr": True})

    class Bad(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, 0]  # float [B, H, W]: neither logits nor labels

    with pytest.raises(ValueError, match="logits"):
        TorchScriptSegmenter(_scripted(tmp_path, Bad())).segment(np.zeros((4, 4, 3), np.uint8))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_onnx_segmenter(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    path = tmp_path / "model.onnx"
    torch.onnx.export(ColourClassifier(), (torch.rand(1, 3, 8, 12),), str(path), dynamo=False,
                      input_names=["x"], output_names=["logits"])
    segmenter = OnnxSegmenter(path, MAPPING, preprocessing=Preprocessing.raw())
    image = np.repeat(np.repeat(_image(), 3, axis=0), 3, axis=1)   # 24x36: fed at the fixed 8x12
    labels = segmenter.segment(image)
    assert labels.shape == (24, 36)
    reference = TorchScriptSegmenter(_scripted(tmp_path, ColourClassifier()), MAPPING,
                                     preprocessing=Preprocessing.raw(input_size=(8, 12))).segment(image)
    np.testing.assert_array_equal(labels, reference)


def test_onnx_missing_runtime_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    path = tmp_path / "model.onnx"
    path.write_bytes(b"")
    with pytest.raises(ImportError, match="pip install onnxruntime"):
        OnnxSegmenter(path)


def test_onnx_bad_file(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    path = tmp_path / "model.onnx"
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="ONNX"):
        OnnxSegmenter(path)
