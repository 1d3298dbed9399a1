"""The codec's inference fast paths give the reference (training-path) outputs on the same weights.

Fast paths (``sqgan_ros.codec.blocks.fast_path``): in-place activations and residual adds,
sub-pixel upsampling convs, label conditions counted from integer labels, the semantic stem's
one-hot input built at 1/f resolution, and the receiver's argmax before the pixel shuffle.
``fast_inference(False)`` runs the reference operations; the reference transmitter/receiver
below are the original compositions (full-resolution one-hot maps, adaptive average pooling).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sqgan_ros.codec.blocks import ResBlock, Upsample, fast_inference, fast_path, upsample_conv_subpixel
from sqgan_ros.codec.branches import one_hot_labels
from sqgan_ros.codec.config import get_config
from sqgan_ros.codec.encoders import unshuffled_one_hot
from sqgan_ros.codec.model import SQGAN, KeepRatios
from sqgan_ros.codec.spade import ConditionPyramid

ATOL = 1e-5


def _blocky_labels(generator: torch.Generator, size: tuple[int, int], cell: int = 4) -> torch.Tensor:
    """Labels in blocks (like real maps) with a few single-pixel speckles."""
    h, w = size
    coarse = torch.randint(0, 20, (1, h // cell + 1, w // cell + 1), generator=generator)
    labels = coarse.repeat_interleave(cell, 1).repeat_interleave(cell, 2)[:, :h, :w].clone()
    speckle = torch.rand(1, h, w, generator=generator) < 0.05
    labels[speckle] = torch.randint(0, 20, (int(speckle.sum()),), generator=generator)
    return labels


@pytest.fixture(scope="module")
def model_and_frame() -> tuple[SQGAN, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = SQGAN(get_config("tiny")).eval()
    g = torch.Generator().manual_seed(1)
    size = (64, 128)
    labels = torch.cat([_blocky_labels(g, size), _blocky_labels(g, size)])
    image = torch.rand(2, 3, *size, generator=g)
    return model, image, labels


def _reference_analysis(model: SQGAN, image: torch.Tensor, labels: torch.Tensor):
    with torch.no_grad(), fast_inference(False):
        onehot = one_hot_labels(labels, 20)
        cond = ConditionPyramid(onehot)
        sem = model.semantic.analyse(onehot, cond)
        img = model.image.analyse(model.image.normalise(image), cond)
    return sem, img


def _reference_decode(model: SQGAN, symbols) -> tuple[torch.Tensor, torch.Tensor]:
    rx = model.receiver
    with torch.no_grad(), fast_inference(False):
        idx, mask, grid = rx._batch([s.semantic for s in symbols], model.semantic)
        labels = model.semantic.synthesise_from_indices(idx, mask, grid).argmax(dim=1)
        idx, mask, grid = rx._batch([s.image for s in symbols], model.image)
        cond = ConditionPyramid(one_hot_labels(labels, 20))
        image = model.image.denormalise(model.image.synthesise_from_indices(idx, mask, grid, cond))
    return image.clamp(0.0, 1.0), labels


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode"])
def test_transmitter_matches_reference(model_and_frame, mode: str) -> None:
    model, image, labels = model_and_frame
    ref_sem, ref_img = _reference_analysis(model, image, labels)
    ctx = torch.inference_mode() if mode == "inference_mode" else torch.no_grad()
    with ctx:
        got = model.transmitter.analyse(image, labels)
    for ref, fast in ((ref_sem, got.semantic), (ref_img, got.image)):
        torch.testing.assert_close(fast.scores, ref.scores, atol=ATOL, rtol=0)
        torch.testing.assert_close(fast.class_fractions, ref.class_fractions, atol=0, rtol=0)
        assert torch.equal(fast.indices, ref.indices)
        assert fast.grid == ref.grid


def test_receiver_matches_reference(model_and_frame) -> None:
    model, image, labels = model_and_frame
    with torch.inference_mode():
        symbols = model.transmitter.compress(image, labels, KeepRatios(0.4, 0.3))
        image_fast, labels_fast = model.receiver.decompress(symbols)
    image_ref, labels_ref = _reference_decode(model, symbols)
    assert torch.equal(labels_fast, labels_ref)
    torch.testing.assert_close(image_fast, image_ref, atol=ATOL, rtol=0)


def test_branch_forward_fast_equals_reference(model_and_frame) -> None:
    model, image, labels = model_and_frame
    with torch.no_grad():
        fast = model.image(image, labels, labels, 0.5).image
        with fast_inference(False):
            ref = model.image(image, labels, labels, 0.5).image
    torch.testing.assert_close(fast, ref, atol=ATOL, rtol=0)


def test_training_path_still_differentiable(model_and_frame) -> None:
    _, image, labels = model_and_frame
    torch.manual_seed(0)
    model = SQGAN(get_config("tiny")).train()  # its own model: training updates the codebook
    out = model.image(image, labels, labels, 0.5)
    (out.image.square().mean() + out.codebook_loss).backward()
    assert model.image.encoder.stem[1].weight.grad is not None
    assert model.image.decoder.conv_out.weight.grad is not None
    assert all(up.conv.weight.grad is not None for up in model.image.decoder.blocks if isinstance(up, Upsample))


def test_fast_path_flag() -> None:
    with torch.no_grad():
        assert fast_path()
        with fast_inference(False):
            assert not fast_path()
        assert fast_path()
    assert not fast_path()  # autograd on
    with pytest.raises(TypeError):
        with fast_inference(1):  # type: ignore[arg-type]
            pass


@pytest.mark.parametrize("shape", [(1, 3, 5, 7), (2, 8, 4, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_upsample_subpixel_equals_nearest_then_conv(shape, bias: bool) -> None:
    torch.manual_seed(2)
    x = torch.randn(*shape)
    conv = torch.nn.Conv2d(shape[1], 6, 3, padding=1, bias=bias)
    with torch.no_grad():
        ref = conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        got = upsample_conv_subpixel(x, conv.weight, conv.bias)
    assert got.shape == ref.shape
    torch.testing.assert_close(got, ref, atol=ATOL, rtol=0)
    up = Upsample(shape[1], 6)
    with torch.no_grad():
        fast = up(x)
        with fast_inference(False):
            slow = up(x)
    torch.testing.assert_close(fast, slow, atol=ATOL, rtol=0)
    with pytest.raises(ValueError):
        upsample_conv_subpixel(x, torch.zeros(6, shape[1], 1, 1), None)


def test_resblock_in_place_path_is_exact() -> None:
    torch.manual_seed(3)
    block = ResBlock(8, 16)
    x = torch.randn(2, 8, 6, 10)
    with torch.no_grad():
        fast = block(x)
        with fast_inference(False):
            slow = block(x)
    assert torch.equal(fast, slow)


def test_unshuffled_one_hot_is_bitwise_and_layout_equal() -> None:
    g = torch.Generator().manual_seed(4)
    labels = torch.randint(0, 20, (2, 16, 24), generator=g)
    ref = F.pixel_unshuffle(one_hot_labels(labels, 20), 4)
    got = unshuffled_one_hot(labels, 20, 4)
    assert torch.equal(got, ref)
    assert got.stride() == ref.stride()
    with pytest.raises(ValueError):
        unshuffled_one_hot(labels[:, :15], 20, 4)


@pytest.mark.parametrize("size", [(8, 12), (4, 6), (16, 24), (5, 7), (32, 48)])
def test_condition_from_labels_equals_one_hot_pyramid(size: tuple[int, int]) -> None:
    g = torch.Generator().manual_seed(5)
    labels = torch.randint(0, 20, (2, 16, 24), generator=g)
    onehot = one_hot_labels(labels, 20)
    lazy = ConditionPyramid.from_labels(labels, 20)
    assert lazy.shape == (2, 20, 16, 24)
    torch.testing.assert_close(lazy.at(size), ConditionPyramid(onehot).at(size), atol=1e-7, rtol=0)
    assert torch.equal(lazy.base, onehot)
    assert lazy.labels is labels


def test_condition_from_labels_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        ConditionPyramid.from_labels(torch.zeros(2, 3), 20)
    with pytest.raises(ValueError):
        ConditionPyramid.from_labels(torch.zeros(1, 4, 4), 20)  # float labels


def test_labels_from_indices_equals_argmax(model_and_frame) -> None:
    model, image, labels = model_and_frame
    sem = model.semantic
    g = torch.Generator().manual_seed(6)
    grid = (8, 16)
    indices = torch.randint(0, sem.config.codebook_size, (2, 128), generator=g)
    keep = torch.rand(2, 128, generator=g) < 0.5
    with torch.inference_mode():
        fast = sem.labels_from_indices(indices, keep, grid)
        ref = sem.synthesise_from_indices(indices, keep, grid).argmax(dim=1)
    assert fast.shape == (2, 64, 128)
    assert torch.equal(fast, ref)
