"""Augmentation: copy-paste moves pixels and labels together; geometry applied to both."""

import numpy as np
import pytest
import torch

from sqgan_ros.data.augment import Augmenter, batch_copy_paste, copy_paste, random_crop
from sqgan_ros.labels import CLASS_INDEX, UNLABELLED

SIGN = CLASS_INDEX["traffic_sign"]
ROAD = CLASS_INDEX["road"]


def _pair(with_sign: bool):
    img = np.full((40, 60, 3), 50, np.uint8)
    lab = np.full((40, 60), ROAD, np.uint8)
    if with_sign:
        img[10:20, 30:36] = (220, 220, 0)
        lab[10:20, 30:36] = SIGN
    return img, lab


def test_copy_paste_moves_pixels_and_labels_together():
    dst_img, dst_lab = _pair(False)
    src_img, src_lab = _pair(True)
    for seed in range(10):
        img, lab = copy_paste(dst_img, dst_lab, src_img, src_lab, np.random.default_rng(seed))
        pasted = lab == SIGN
        assert pasted.sum() == 60
        assert np.all(img[pasted] == (220, 220, 0))
        assert np.all(img[~pasted] == 50)
    assert not (dst_lab == SIGN).any()  # inputs untouched


def test_copy_paste_ignores_other_classes():
    dst_img, dst_lab = _pair(False)
    src_img, src_lab = _pair(True)
    img, lab = copy_paste(dst_img, dst_lab, src_img, src_lab, np.random.default_rng(0), classes=("person",))
    np.testing.assert_array_equal(lab, dst_lab)
    np.testing.assert_array_equal(img, dst_img)


def test_batch_copy_paste_on_tensors():
    imgs = torch.zeros(2, 3, 40, 60)
    labs = torch.full((2, 40, 60), ROAD, dtype=torch.int64)
    imgs[1, :, 5:15, 10:14] = 0.8
    labs[1, 5:15, 10:14] = SIGN
    out_img, out_lab = batch_copy_paste(imgs, labs, p=1.0, generator=np.random.default_rng(1))
    got = out_lab[0] == SIGN
    assert got.sum() == 40
    assert torch.all(out_img[0][:, got] == 0.8)
    assert torch.all(out_img[0][:, ~got] == 0.0)
    assert (labs[0] == ROAD).all()
    with pytest.raises(ValueError):
        batch_copy_paste(imgs, labs[:, :10], p=1.0)


def test_augmenter_keeps_labels_aligned():
    img, lab = _pair(True)
    aug = Augmenter(brightness=0, contrast=0, saturation=0, hue=0, sharpness=0, p_rotate=1.0, p_resize_crop=1.0)
    for seed in range(5):
        out_img, out_lab = aug(img, lab, np.random.default_rng(seed))
        assert out_img.shape == img.shape and out_lab.shape == lab.shape
        sign = out_lab == SIGN
        assert sign.any()
        # sign pixels are yellow-ish, road pixels dark (bilinear edges aside)
        assert np.median(out_img[sign][:, 0]) > 150
        assert np.median(out_img[out_lab == ROAD][:, 0]) < 80
        assert set(np.unique(out_lab)) <= {ROAD, SIGN, UNLABELLED}


def test_random_crop_same_window():
    img = np.random.default_rng(0).integers(0, 255, (32, 64, 3), dtype=np.uint8)
    lab = img[..., 0] % 19
    ci, cl = random_crop(img, lab, (16, 32), np.random.default_rng(3))
    assert ci.shape == (16, 32, 3) and cl.shape == (16, 32)
    np.testing.assert_array_equal(cl, ci[..., 0] % 19)
    with pytest.raises(ValueError):
        random_crop(img, lab, (64, 64), np.random.default_rng(0))
