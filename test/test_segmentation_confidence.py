"""segmenter_min_confidence: unsure pixels become 'unlabelled' (bundled and user models, sessions)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from sqgan_ros.labels import CLASS_INDEX, NUM_CLASSES, UNLABELLED
from sqgan_ros.segmentation import BundledSegmenter, Preprocessing, SegNet, SegNetConfig, TorchScriptSegmenter
from sqgan_ros.segmentation.base import confident_labels, top_class

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


def test_confident_labels_by_top_softmax_probability() -> None:
    logits = torch.zeros(1, NUM_CLASSES, 1, 3)
    logits[0, 4, 0, 0] = 10.0                     # p ~ 0.9991
    logits[0, 7, 0, 1] = math.log(19.0)           # p = 19 / (19 + 19) = 0.5
    logits[0, 2, 0, 2] = 1.0                      # p = e / (e + 19) ~ 0.125
    assert confident_labels(logits, 0.0).tolist() == [[[4, 7, 2]]]
    assert confident_labels(logits, 0.4).tolist() == [[[4, 7, UNLABELLED]]]
    assert confident_labels(logits, 0.6).tolist() == [[[4, UNLABELLED, UNLABELLED]]]
    ids, unsure = top_class(logits, 0.6)
    assert ids.tolist() == [[[4, 7, 2]]] and unsure.tolist() == [[[False, True, True]]]
    assert top_class(logits, 0.0)[1] is None


def _net() -> SegNet:
    torch.manual_seed(0)
    return SegNet(SegNetConfig(input_size=(32, 64), channels=(8, 8, 16), blocks=(1, 1, 1), decoder_channels=8)).eval()


def test_bundled_segmenter_applies_and_validates_min_confidence() -> None:
    image = np.random.default_rng(0).integers(0, 256, (32, 64, 3), dtype=np.uint8)
    net = _net()
    every_guess = BundledSegmenter(net=net).segment(image)
    assert (every_guess != UNLABELLED).any()
    unsure = BundledSegmenter(net=net, min_confidence=0.99)  # a random network is unsure everywhere
    assert unsure.reports_confidence and (unsure.segment(image) == UNLABELLED).all()
    unsure.min_confidence = 0.0
    np.testing.assert_array_equal(unsure.segment(image), every_guess)
    for bad in (1.0, -0.1, float("nan")):
        with pytest.raises(ValueError):
            unsure.min_confidence = bad
    with pytest.raises(TypeError):
        unsure.min_confidence = "0.5"


class SureOfTheirClass19(nn.Module):
    """30 classes of their own; every pixel surely their class 19 (mapped to our 'car')."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(x.shape[0], 30, x.shape[2], x.shape[3])
        logits[:, 19] = 20.0
        return logits


def test_user_model_confidence_is_about_their_scores_not_our_unlabelled_id(tmp_path: Path) -> None:
    path = tmp_path / "sure.pt"
    torch.jit.script(SureOfTheirClass19()).save(str(path))
    segmenter = TorchScriptSegmenter(path, {19: "car"}, preprocessing=Preprocessing.raw())
    segmenter.min_confidence = 0.9
    labels = segmenter.segment(np.zeros((8, 8, 3), np.uint8))
    assert (labels == CLASS_INDEX["car"]).all()


def test_encoder_session_applies_the_setting_at_start_and_at_run_time(tiny_model_file: Path) -> None:
    from sqgan_ros.sessions import EncoderSession, EncoderSettings, ModelSettings

    session = EncoderSession.open(ModelSettings(model_file=str(tiny_model_file), device="cpu", precision="float32",
                                                torch_threads=1),
                                  EncoderSettings(segmenter="bundled", segmenter_min_confidence=0.3))
    assert session.segmenter.min_confidence == pytest.approx(0.3)
    session.update({"segmenter_min_confidence": 0.6})
    assert session.segmenter.min_confidence == pytest.approx(0.6)
    with pytest.raises(ValueError):
        session.update({"segmenter_min_confidence": 1.0})
    assert session.segmenter.min_confidence == pytest.approx(0.6)
