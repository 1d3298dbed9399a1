"""Loss terms on known inputs: weighted L1, class-weighted CE, hinge, adaptive GAN weight, discriminator."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from sqgan_ros.labels import CLASS_INDEX, NUM_CLASSES, UNLABELLED
from sqgan_ros.training import losses
from sqgan_ros.training.discriminator import PatchDiscriminator, blend_unimportant, semantic_disc_input

SKY, CAR, LIGHT = CLASS_INDEX["sky"], CLASS_INDEX["car"], CLASS_INDEX["traffic_light"]


def test_weighted_l1_known_value_and_zero_weight_class_ignored() -> None:
    target = torch.zeros(1, 3, 2, 2)
    pred = torch.tensor([1.0, 2.0, 3.0, 4.0]).view(1, 1, 2, 2).repeat(1, 3, 1, 1)
    labels = torch.tensor([[[SKY, CAR], [LIGHT, LIGHT]]])
    w = losses.default_l1_weights()
    assert w[SKY] == 0.0 and w[LIGHT] == 1.0 and w[CAR] == pytest.approx(0.15)
    expected = (0.0 * 1 + 0.15 * 2 + 1.0 * 3 + 1.0 * 4) / 4
    assert losses.weighted_l1(pred, target, labels, w).item() == pytest.approx(expected)
    # changing the prediction on the weight-0 class changes nothing
    pred2 = pred.clone()
    pred2[..., 0, 0] = 100.0
    assert losses.weighted_l1(pred2, target, labels, w).item() == pytest.approx(expected)


def test_weighted_l1_validation() -> None:
    x = torch.zeros(1, 3, 2, 2)
    with pytest.raises(TypeError):
        losses.weighted_l1(x, x, torch.zeros(1, 2, 2), losses.default_l1_weights())
    with pytest.raises(ValueError):
        losses.weighted_l1(x, x, torch.zeros(1, 2, 3, dtype=torch.long), losses.default_l1_weights())
    with pytest.raises(ValueError):
        losses.weighted_l1(x, x, torch.zeros(1, 2, 2, dtype=torch.long), torch.ones(19))


def test_weighted_ce_ignores_unlabelled_samples_and_matches_torch() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, NUM_CLASSES, 3, 4, generator=g)
    labels = torch.randint(0, NUM_CLASSES, (2, 3, 4), generator=g)
    w = losses.default_ce_weights()
    has = torch.tensor([True, False])
    got = losses.weighted_cross_entropy(logits, labels, has, w)
    ref = F.cross_entropy(logits[:1], labels[:1], weight=w)
    assert got.item() == pytest.approx(ref.item(), rel=1e-5)
    # garbage in the unlabelled sample does not matter
    logits2 = logits.clone()
    logits2[1] = 1e3 * torch.randn(NUM_CLASSES, 3, 4, generator=g)
    assert losses.weighted_cross_entropy(logits2, labels, has, w).item() == pytest.approx(got.item(), rel=1e-6)


def test_weighted_ce_no_labelled_sample_is_zero_with_graph() -> None:
    logits = torch.randn(2, NUM_CLASSES, 2, 2, requires_grad=True)
    labels = torch.full((2, 2, 2), UNLABELLED, dtype=torch.long)
    loss = losses.weighted_cross_entropy(logits, labels, torch.tensor([False, False]), losses.default_ce_weights())
    assert loss.item() == 0.0
    loss.backward()
    assert logits.grad is not None and logits.grad.abs().sum() == 0


def test_weighted_ce_perfect_prediction_is_near_zero() -> None:
    labels = torch.tensor([[[0, 5], [11, 19]]])
    logits = 50.0 * F.one_hot(labels, NUM_CLASSES).permute(0, 3, 1, 2).float()
    assert losses.weighted_cross_entropy(logits, labels, torch.tensor([True]), losses.default_ce_weights()) < 1e-6


def test_class_frequency_first_update_replaces_uniform_then_averages() -> None:
    freq = losses.ClassFrequency(momentum=0.5)
    freq.update(torch.tensor([[0, 0, 0, 1]]))
    assert freq.freq[0].item() == pytest.approx(0.75) and freq.freq[1].item() == pytest.approx(0.25)
    assert freq.freq[2:].abs().sum().item() == 0.0
    freq.update(torch.tensor([[1, 1, 1, 1]]))
    assert freq.freq[0].item() == pytest.approx(0.375) and freq.freq[1].item() == pytest.approx(0.625)


def test_class_balance_lifts_rare_classes_and_leaves_unseen_at_one() -> None:
    freq = losses.ClassFrequency()
    freq.update(torch.tensor([0] * 96 + [1] * 4))     # road 96 %, sidewalk 4 %
    factor = freq.balance(0.5)
    assert factor[1] > 1.0 > factor[0]
    assert factor[1].item() / factor[0].item() == pytest.approx((96 / 4) ** 0.5, rel=1e-5)
    assert torch.all(factor[2:] == 1.0)
    assert torch.all(freq.balance(0.0) == 1.0)
    freq.update(torch.tensor([0] * 10**6 + [1]))       # extreme ratios are clipped
    assert freq.balance(2.0).max().item() <= 10.0


def test_loss_context_balances_only_when_configured() -> None:
    from sqgan_ros.training.config import LossConfig
    from sqgan_ros.training.stages import LossContext

    labels = torch.tensor([[[0, 0, 0, 1]], [[5, 5, 5, 5]]])
    has = torch.tensor([True, False])
    plain = LossContext(LossConfig(), None)
    assert torch.equal(plain.semantic_ce_weights(labels, has), losses.default_ce_weights())
    balanced = LossContext(LossConfig(ce_class_balance=0.5), None)
    w = balanced.semantic_ce_weights(labels, has)
    base = losses.default_ce_weights()
    # the unlabelled sample's class 5 is not counted; class 1 (rarer than 0) gains relative weight
    assert w[5] == base[5]
    assert (w[1] / base[1]) > (w[0] / base[0])
    before = balanced.class_frequency.freq.clone()
    with torch.no_grad():                                # evaluation: weights, no histogram update
        balanced.semantic_ce_weights(torch.tensor([[[7, 7, 7, 7]]]), torch.tensor([True]))
    assert torch.equal(balanced.class_frequency.freq, before)
    rare_unlabelled = torch.tensor([[[0] * 99 + [UNLABELLED]]])
    w = balanced.semantic_ce_weights(rare_unlabelled, torch.tensor([True]))
    assert w[UNLABELLED] == base[UNLABELLED]            # never lifted: no class of the mIoU


def test_hinge_values() -> None:
    real = torch.tensor([2.0, 0.5, -1.0])   # relu(1 - x) = 0, 0.5, 2 -> mean 5/6
    fake = torch.tensor([-2.0, 0.0, 1.0])   # relu(1 + x) = 0, 1, 2 -> mean 1
    assert losses.hinge_d_loss(real, fake).item() == pytest.approx(0.5 * (5 / 6 + 1))
    assert losses.hinge_g_loss(fake).item() == pytest.approx(1 / 3)


def test_adaptive_gan_weight_ratio_and_cap() -> None:
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    rec = (3.0 * w).sum()        # grad (3, 3), norm 3*sqrt2
    gan = (w * w).sum()          # grad (2, 4), norm sqrt20
    ratio = 3 * math.sqrt(2) / (math.sqrt(20) + 1e-4)
    got = losses.adaptive_gan_weight(rec, gan, w, factor=0.15, cap=10.0)
    assert got.item() == pytest.approx(0.15 * ratio, rel=1e-5)
    assert not got.requires_grad
    assert losses.adaptive_gan_weight(rec, gan, w, factor=100.0, cap=0.2).item() == pytest.approx(0.2)
    with pytest.raises(ValueError):
        losses.adaptive_gan_weight(rec, gan, torch.ones(2, requires_grad=True), 0.1, 1.0)


def test_discriminator_shapes_and_blend() -> None:
    disc = PatchDiscriminator(3, base_channels=8, num_layers=3)
    out = disc(torch.rand(2, 3, 64, 128))
    assert out.shape == (2, 1, 6, 14)
    with pytest.raises(ValueError):
        disc(torch.rand(2, 20, 64, 64))
    real = torch.zeros(1, 3, 2, 2)
    fake = torch.ones(1, 3, 2, 2, requires_grad=True)
    labels = torch.tensor([[[SKY, CAR], [CLASS_INDEX["vegetation"], LIGHT]]])
    blended = blend_unimportant(fake, real, labels)
    assert blended[0, 0].tolist() == [[0.0, 1.0], [0.0, 1.0]]
    blended.sum().backward()
    assert fake.grad[0, 0].tolist() == [[0.0, 1.0], [0.0, 1.0]]


def test_semantic_disc_input() -> None:
    labels = torch.tensor([[[0, 19]]])
    onehot = semantic_disc_input(labels=labels)
    assert onehot.shape == (1, NUM_CLASSES, 1, 2) and onehot[0, 19, 0, 1] == 1.0 and onehot.sum() == 2
    probs = semantic_disc_input(logits=torch.zeros(1, NUM_CLASSES, 1, 2))
    assert torch.allclose(probs.sum(1), torch.ones(1, 1, 2))
    with pytest.raises(ValueError):
        semantic_disc_input()
