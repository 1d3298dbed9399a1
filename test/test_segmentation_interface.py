"""Segmenter contract: shape, dtype, range, any input size; NullSegmenter; ExternalLabels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sqgan_ros.labels import NUM_CLASSES, UNLABELLED
from sqgan_ros.segmentation import BundledSegmenter, ExternalLabels, NullSegmenter, Segmenter, SegNet, SegNetConfig, check_image, resize_labels

TINY = SegNetConfig(input_size=(32, 64), channels=(8, 8, 16), blocks=(1, 1, 1), decoder_channels=8)


def _segmenters() -> list[Segmenter]:
    torch.manual_seed(0)
    return [NullSegmenter(), BundledSegmenter(net=SegNet(TINY))]


@pytest.mark.parametrize("segmenter", _segmenters(), ids=lambda s: type(s).__name__)
@pytest.mark.parametrize("size", [(32, 64), (17, 45), (120, 90), (1, 1)])
def test_segment_contract_any_size(segmenter: Segmenter, size: tuple[int, int]) -> None:
    image = np.random.default_rng(1).integers(0, 256, (*size, 3), dtype=np.uint8)
    labels = segmenter.segment(image)
    assert labels.shape == size
    assert labels.dtype == np.uint8
    assert labels.min() >= 0 and labels.max() < NUM_CLASSES
    assert segmenter.num_classes == NUM_CLASSES
    assert isinstance(segmenter.name, str) and segmenter.name


@pytest.mark.parametrize("segmenter", _segmenters(), ids=lambda s: type(s).__name__)
def test_segment_batch_matches_segment(segmenter: Segmenter) -> None:
    images = np.random.default_rng(2).integers(0, 256, (2, 40, 70, 3), dtype=np.uint8)
    batch = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    out = segmenter.segment_batch(batch)
    assert out.shape == (2, 40, 70) and out.dtype == torch.long
    for i in range(2):
        np.testing.assert_array_equal(out[i].numpy(), segmenter.segment(images[i]))


def test_null_segmenter_all_unlabelled() -> None:
    labels = NullSegmenter().segment(np.zeros((5, 7, 3), np.uint8))
    assert (labels == UNLABELLED).all()


def test_bundled_predicts_untrained_network_argmax() -> None:
    torch.manual_seed(3)
    net = SegNet(TINY).eval()
    segmenter = BundledSegmenter(net=net)
    image = np.random.default_rng(3).integers(0, 256, (32, 64, 3), dtype=np.uint8)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255.0
    with torch.no_grad():
        expected = net(x).argmax(1)[0].numpy()
    np.testing.assert_array_equal(segmenter.segment(image), expected)


def test_bundled_resizes_labels_back_nearest() -> None:
    """An input at twice the network size gives labels that are the 2x nearest upsampling."""
    torch.manual_seed(4)
    segmenter = BundledSegmenter(net=SegNet(TINY))
    small = np.random.default_rng(4).integers(0, 256, (32, 64, 3), dtype=np.uint8)
    big = small.repeat(2, axis=0).repeat(2, axis=1)
    labels_big = segmenter.segment(big)
    assert labels_big.shape == (64, 128)
    assert set(np.unique(labels_big)) <= set(range(NUM_CLASSES))
    # every 2x2 cell holds a single value (nearest-neighbour upsampling of a 32x64 map)
    cells = labels_big.reshape(32, 2, 64, 2)
    assert (cells == cells[:, :1, :, :1]).all()


@pytest.mark.parametrize("bad, error", [
    (np.zeros((4, 4, 3), np.float32), TypeError),
    ([[0, 0, 0]], TypeError),
    (np.zeros((4, 4), np.uint8), ValueError),
    (np.zeros((4, 4, 4), np.uint8), ValueError),
    (np.zeros((0, 4, 3), np.uint8), ValueError),
])
@pytest.mark.parametrize("segmenter", _segmenters(), ids=lambda s: type(s).__name__)
def test_segment_rejects_bad_images(segmenter: Segmenter, bad: object, error: type) -> None:
    with pytest.raises(error):
        segmenter.segment(bad)


@pytest.mark.parametrize("bad, error", [
    (torch.zeros(3, 8, 8), ValueError),
    (torch.zeros(1, 1, 8, 8), ValueError),
    (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), TypeError),
    (np.zeros((1, 3, 8, 8), np.float32), TypeError),
])
def test_segment_batch_rejects_bad_batches(bad: object, error: type) -> None:
    for segmenter in _segmenters():
        with pytest.raises(error):
            segmenter.segment_batch(bad)


def test_check_image_returns_contiguous() -> None:
    image = np.zeros((6, 8, 3), np.uint8)[:, ::2]
    assert check_image(image).flags.c_contiguous


def test_resize_labels_keeps_values() -> None:
    labels = np.array([[0, 5], [13, 19]], np.uint8)
    out = resize_labels(labels, (4, 6))
    assert out.shape == (4, 6)
    assert set(np.unique(out)) == {0, 5, 13, 19}
    with pytest.raises(ValueError):
        resize_labels(labels, (0, 3))


def test_external_labels_fit_and_map_ignore() -> None:
    labels = np.array([[0, 255], [13, 7]], np.int64)
    out = ExternalLabels().fit(labels, (4, 4))
    assert out.dtype == np.uint8 and out.shape == (4, 4)
    assert out[0, 3] == UNLABELLED and out[3, 0] == 13
    mono8 = ExternalLabels().fit(np.full((3, 3, 1), 2, np.uint8), (3, 3))
    assert (mono8 == 2).all()


def test_external_labels_errors() -> None:
    with pytest.raises(ValueError):
        ExternalLabels(out_of_range="clip")
    with pytest.raises(ValueError):
        ExternalLabels(out_of_range="error").fit(np.array([[20]]), (1, 1))
    with pytest.raises(TypeError):
        ExternalLabels().fit(np.zeros((2, 2), np.float32), (2, 2))
    with pytest.raises(TypeError):
        ExternalLabels().fit([[1]], (1, 1))
    with pytest.raises(ValueError):
        ExternalLabels().fit(np.zeros((2, 2, 2), np.uint8), (2, 2))
