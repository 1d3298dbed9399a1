"""Image-quality and segmentation metrics for comparing SQ-GAN with classical codecs.

All image metrics take uint8 RGB images, one ``(H, W, 3)`` or a batch ``(B, H, W, 3)`` (numpy
arrays or torch uint8 tensors). A single image gives a ``float``, a batch gives a float64 array
``(B,)`` so that a sweep can aggregate per image::

    ref, test (uint8 RGB) --+-> psnr / masked_psnr          (numpy, float64)
                            +-> ms_ssim                      (torch, float64, 5 scales)
                            +-> LPIPSMetric                  (sqgan_ros.training.lpips)
    sets of images ---------+-> FID: sqgan_ros.evaluation.fid
    label maps -------------+-> confusion_matrix -> miou_from_confusion (mIoU, per-class IoU)

References: MS-SSIM, Wang, Simoncelli, Bovik, "Multiscale structural similarity for image
quality assessment", Asilomar 2003. FID, Heusel et al., NeurIPS 2017. SQ-GAN (Pezone et al.,
IEEE TCCN 2025) reports PSNR, MS-SSIM, LPIPS, FID and mIoU.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from sqgan_ros.labels import CLASS_INDEX, IMPORTANT_CLASSES, NUM_CLASSES, NUM_LABELLED_CLASSES, UNLABELLED

__all__ = [
    "MS_SSIM_WEIGHTS", "psnr", "masked_psnr", "class_mask", "ms_ssim",
    "ms_ssim_min_size", "confusion_matrix", "miou_from_confusion", "miou", "MIoUResult",
    "LPIPSMetric",
]

#: Wang et al. (2003) per-scale exponents, finest scale first.
MS_SSIM_WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_SSIM_WIN = 11
_SSIM_SIGMA = 1.5
_K1, _K2 = 0.01, 0.03
_DATA_RANGE = 255.0



# --------------------------------------------------------------------------------------- inputs

def _to_numpy_batch(images: np.ndarray | torch.Tensor, name: str) -> tuple[np.ndarray, bool]:
    """Return ``(B, H, W, 3)`` uint8 and whether the input was a single image."""
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    if not isinstance(images, np.ndarray):
        raise TypeError(f"{name} must be a numpy array or torch tensor, got {type(images).__name__}")
    if images.dtype != np.uint8:
        raise TypeError(f"{name} must be uint8 RGB, got dtype {images.dtype}")
    if images.ndim == 3:
        images, single = images[None], True
    elif images.ndim == 4:
        single = False
    else:
        raise ValueError(f"{name} must be (H, W, 3) or (B, H, W, 3), got shape {images.shape}")
    if images.shape[-1] != 3:
        raise ValueError(f"{name} must have 3 channels (RGB) last, got shape {images.shape}")
    if images.shape[0] == 0 or images.shape[1] == 0 or images.shape[2] == 0:
        raise ValueError(f"{name} is empty: shape {images.shape}")
    return images, single


def _pair(reference: np.ndarray | torch.Tensor,
          test: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray, bool]:
    ref, single = _to_numpy_batch(reference, "reference")
    tst, single_t = _to_numpy_batch(test, "test")
    if ref.shape != tst.shape or single != single_t:
        raise ValueError(f"reference and test shapes differ: {tuple(reference.shape)} vs {tuple(test.shape)}")
    return ref, tst, single


def _finish(values: np.ndarray, single: bool) -> float | np.ndarray:
    return float(values[0]) if single else values.astype(np.float64)


# ----------------------------------------------------------------------------------------- PSNR

def _psnr_from_mse(mse: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        out = 10.0 * np.log10(_DATA_RANGE ** 2 / mse)
    return np.where(mse == 0.0, np.inf, out)


def psnr(reference: np.ndarray | torch.Tensor, test: np.ndarray | torch.Tensor) -> float | np.ndarray:
    """Peak signal-to-noise ratio in dB, data range 255, MSE over all pixels and channels.

    Args:
        reference: uint8 RGB ``(H, W, 3)`` or ``(B, H, W, 3)``.
        test: same shape as ``reference``.

    Returns:
        ``float`` for one image, ``(B,)`` float64 for a batch; ``inf`` where the images are identical.
    """
    ref, tst, single = _pair(reference, test)
    diff = ref.astype(np.float64) - tst.astype(np.float64)
    mse = np.mean(diff * diff, axis=(1, 2, 3))
    return _finish(_psnr_from_mse(mse), single)


def class_mask(labels: np.ndarray | torch.Tensor,
               classes: Iterable[str] = IMPORTANT_CLASSES) -> np.ndarray:
    """Boolean mask of the pixels whose label is one of ``classes``.

    Args:
        labels: integer label map ``(H, W)`` or ``(B, H, W)`` with values 0..19.
        classes: class names from ``sqgan_ros.labels.CLASS_NAMES`` (default: the important ones).

    Returns:
        bool array of the same shape as ``labels``.
    """
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    labels = np.asarray(labels)
    if labels.ndim not in (2, 3) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be an integer (H, W) or (B, H, W) map, got {labels.dtype} {labels.shape}")
    ids = []
    for name in classes:
        if name not in CLASS_INDEX:
            raise ValueError(f"unknown class name {name!r}")
        ids.append(CLASS_INDEX[name])
    return np.isin(labels, np.asarray(ids, dtype=np.int64))


def masked_psnr(reference: np.ndarray | torch.Tensor, test: np.ndarray | torch.Tensor,
                mask: np.ndarray | torch.Tensor) -> float | np.ndarray:
    """PSNR (data range 255) over the pixels where ``mask`` is true (all 3 channels of each).

    Typical use: ``masked_psnr(ref, dec, class_mask(gt_labels))`` for the important classes.

    Args:
        reference: uint8 RGB ``(H, W, 3)`` or ``(B, H, W, 3)``.
        test: same shape as ``reference``.
        mask: bool ``(H, W)`` (or ``(B, H, W)`` for a batch).

    Returns:
        ``float`` or ``(B,)`` float64; ``inf`` where the masked pixels are identical and ``nan``
        where the mask is empty (the metric is undefined; aggregate with ``np.nanmean``).
    """
    ref, tst, single = _pair(reference, test)
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().cpu().numpy()
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"mask must be bool, got {mask.dtype}")
    if single and mask.ndim == 2:
        mask = mask[None]
    if mask.shape != ref.shape[:3]:
        raise ValueError(f"mask shape {mask.shape} does not match images {ref.shape[:3]}")
    diff = ref.astype(np.float64) - tst.astype(np.float64)
    sq = np.sum(diff * diff, axis=3)  # (B, H, W)
    count = mask.sum(axis=(1, 2)) * 3
    total = np.where(mask, sq, 0.0).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        mse = total / count
    out = np.where(count == 0, np.nan, _psnr_from_mse(np.where(count == 0, 1.0, mse)))
    return _finish(out, single)


# -------------------------------------------------------------------------------------- MS-SSIM

def ms_ssim_min_size(scales: int = len(MS_SSIM_WEIGHTS)) -> int:
    """Smallest image side for which ``scales`` scales fit (11-px window, valid filtering)."""
    if not 1 <= scales <= len(MS_SSIM_WEIGHTS):
        raise ValueError(f"scales must be in 1..{len(MS_SSIM_WEIGHTS)}, got {scales}")
    return (_SSIM_WIN - 1) * 2 ** (scales - 1) + 1


def _gaussian_window() -> torch.Tensor:
    coords = torch.arange(_SSIM_WIN, dtype=torch.float64) - (_SSIM_WIN - 1) / 2.0
    g = torch.exp(-(coords ** 2) / (2.0 * _SSIM_SIGMA ** 2))
    return (g / g.sum()).float()


def _filter(x: torch.Tensor, win: torch.Tensor) -> torch.Tensor:
    """Separable 'valid' Gaussian filtering of ``[N, C, H, W]`` (depthwise)."""
    c = x.shape[1]
    x = F.conv2d(x, win.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, win.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _ssim_terms(x: torch.Tensor, y: torch.Tensor, win: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean luminance*cs (SSIM) and mean contrast-structure (cs) per image and channel."""
    c1 = (_K1 * _DATA_RANGE) ** 2
    c2 = (_K2 * _DATA_RANGE) ** 2
    mu_x, mu_y = _filter(x, win), _filter(y, win)
    sxx = _filter(x * x, win) - mu_x * mu_x
    syy = _filter(y * y, win) - mu_y * mu_y
    sxy = _filter(x * y, win) - mu_x * mu_y
    cs_map = (2.0 * sxy + c2) / (sxx + syy + c2)
    lum_map = (2.0 * mu_x * mu_y + c1) / (mu_x * mu_x + mu_y * mu_y + c1)
    return (lum_map * cs_map).double().mean(dim=(2, 3)), cs_map.double().mean(dim=(2, 3))


def ms_ssim(reference: np.ndarray | torch.Tensor, test: np.ndarray | torch.Tensor, *,
            allow_fewer_scales: bool = True) -> float | np.ndarray:
    """Multi-scale SSIM (Wang et al. 2003), 5 scales, data range 255.

    Gaussian window 11 / sigma 1.5 with 'valid' filtering, K1=0.01, K2=0.03, 2x2 average-pool
    downsampling between scales (odd sides are edge-padded first), exponents
    ``MS_SSIM_WEIGHTS``. Computed per RGB channel and averaged over channels;
    negative contrast-structure terms are clipped to 0 before the fractional powers (as in
    TensorFlow's ``ssim_multiscale``). Filtering runs in float32 (3x faster than float64 on
    CPU; values agree to ~1e-6), means and the final product in float64.

    Small images: 5 scales need a shorter side of at least ``ms_ssim_min_size(5) == 161`` px.
    For smaller images the largest number of scales M that fits is used with the first M
    exponents renormalised to sum to 1 (so identical images still give 1); with
    ``allow_fewer_scales=False`` they raise ``ValueError`` instead. Sides under 11 px always raise.

    Args:
        reference: uint8 RGB ``(H, W, 3)`` or ``(B, H, W, 3)``.
        test: same shape as ``reference``.
        allow_fewer_scales: use fewer scales for images smaller than 161 px (see above).

    Returns:
        ``float`` or ``(B,)`` float64 in [0, 1]; 1 for identical images.
    """
    ref, tst, single = _pair(reference, test)
    side = min(ref.shape[1], ref.shape[2])
    scales = len(MS_SSIM_WEIGHTS)
    while scales > 0 and side < ms_ssim_min_size(scales):
        scales -= 1
    if scales == 0:
        raise ValueError(f"MS-SSIM needs images of at least {_SSIM_WIN} px per side, got {ref.shape[1:3]}")
    if scales < len(MS_SSIM_WEIGHTS) and not allow_fewer_scales:
        raise ValueError(f"5-scale MS-SSIM needs a shorter side >= {ms_ssim_min_size()} px, got {side}")
    weights = torch.tensor(MS_SSIM_WEIGHTS[:scales], dtype=torch.float64)
    weights = weights / weights.sum()
    win = _gaussian_window()
    x = torch.from_numpy(ref).permute(0, 3, 1, 2).float()
    y = torch.from_numpy(tst).permute(0, 3, 1, 2).float()
    factors = []
    for level in range(scales):
        ssim_val, cs = _ssim_terms(x, y, win)
        if level == scales - 1:
            factors.append(torch.relu(ssim_val))
        else:
            factors.append(torch.relu(cs))
            pad = (0, x.shape[3] % 2, 0, x.shape[2] % 2)
            if any(pad):
                x, y = F.pad(x, pad, mode="replicate"), F.pad(y, pad, mode="replicate")
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    stacked = torch.stack(factors, dim=-1)  # [B, C, scales]
    per_channel = torch.prod(stacked ** weights, dim=-1)
    return _finish(per_channel.mean(dim=1).numpy(), single)


# ----------------------------------------------------------------------------------------- mIoU

def _labels_array(labels: np.ndarray | torch.Tensor, name: str) -> np.ndarray:
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"{name} must be an integer label map, got {labels.dtype}")
    if labels.ndim not in (2, 3):
        raise ValueError(f"{name} must be (H, W) or (B, H, W), got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError(f"{name} values must be in 0..{NUM_CLASSES - 1}, got {labels.min()}..{labels.max()}")
    return labels


def confusion_matrix(ground_truth: np.ndarray | torch.Tensor,
                     prediction: np.ndarray | torch.Tensor) -> np.ndarray:
    """20x20 confusion counts ``cm[gt, pred]`` over pixels whose ground truth is labelled.

    Pixels with ground truth ``UNLABELLED`` (19) are ignored (row 19 stays 0). A prediction of
    19 on a labelled pixel is kept (column 19): it is a miss for the true class. Matrices add up,
    so a data set's mIoU is ``miou_from_confusion(sum of per-image matrices)``.

    Args:
        ground_truth: integer labels ``(H, W)`` or ``(B, H, W)``, values 0..19.
        prediction: same shape.

    Returns:
        int64 ``(20, 20)``.
    """
    gt = _labels_array(ground_truth, "ground_truth")
    pred = _labels_array(prediction, "prediction")
    if gt.shape != pred.shape:
        raise ValueError(f"ground_truth and prediction shapes differ: {gt.shape} vs {pred.shape}")
    valid = gt != UNLABELLED
    flat = gt[valid].astype(np.int64) * NUM_CLASSES + pred[valid].astype(np.int64)
    return np.bincount(flat, minlength=NUM_CLASSES * NUM_CLASSES).reshape(NUM_CLASSES, NUM_CLASSES)


@dataclass(frozen=True)
class MIoUResult:
    """Mean IoU and its parts.

    Attributes:
        miou: mean of ``per_class`` over the classes that occur (``nan`` if none does).
        per_class: float64 ``(19,)`` IoU of each labelled class; ``nan`` for classes absent from
            both ground truth and prediction.
        confusion: int64 ``(20, 20)`` counts ``[gt, pred]`` it was computed from.
    """

    miou: float
    per_class: np.ndarray
    confusion: np.ndarray


def miou_from_confusion(confusion: np.ndarray) -> MIoUResult:
    """Per-class IoU = TP / (TP + FP + FN) and their mean over classes present.

    A labelled class 0..18 counts when it occurs in the (valid pixels of the) ground truth or the
    prediction. ``unlabelled`` is never a class of the mean; predicting it is a false negative.

    Args:
        confusion: ``(20, 20)`` non-negative counts ``[gt, pred]`` (from ``confusion_matrix``).
    """
    cm = np.asarray(confusion)
    if cm.shape != (NUM_CLASSES, NUM_CLASSES):
        raise ValueError(f"confusion must be ({NUM_CLASSES}, {NUM_CLASSES}), got {cm.shape}")
    if not np.issubdtype(cm.dtype, np.integer) or (cm < 0).any():
        raise ValueError("confusion must hold non-negative integer counts")
    cm = cm.astype(np.int64)
    tp = np.diag(cm)[:NUM_LABELLED_CLASSES].astype(np.float64)
    gt_count = cm[:NUM_LABELLED_CLASSES, :].sum(axis=1)
    pred_count = cm[:, :NUM_LABELLED_CLASSES].sum(axis=0)
    union = gt_count + pred_count - tp
    present = union > 0
    per_class = np.full(NUM_LABELLED_CLASSES, np.nan)
    per_class[present] = tp[present] / union[present]
    mean = float(per_class[present].mean()) if present.any() else float("nan")
    return MIoUResult(miou=mean, per_class=per_class, confusion=cm)


def miou(ground_truth: np.ndarray | torch.Tensor, prediction: np.ndarray | torch.Tensor) -> MIoUResult:
    """Mean IoU of ``prediction`` against ``ground_truth`` (a batch is pooled into one matrix).

    Args:
        ground_truth: integer labels ``(H, W)`` or ``(B, H, W)``, values 0..19 (19 ignored).
        prediction: same shape.
    """
    return miou_from_confusion(confusion_matrix(ground_truth, prediction))


# ---------------------------------------------------------------------------------------- LPIPS

class LPIPSMetric:
    """LPIPS distance on uint8 images, backed by ``sqgan_ros.training.lpips.LPIPS``.

    The network is built on first use, so importing this module (or constructing the metric)
    needs no weights. Missing weights raise ``sqgan_ros.training.lpips.LPIPSWeightsMissingError``
    (a ``FileNotFoundError``) saying how to install them.

    Args:
        net: ``"alexnet"`` (cheap) or ``"vgg16"`` (SQ-GAN's choice).
        device: torch device for the network.
        batch_size: images per forward pass.
    """

    def __init__(self, net: str = "alexnet", device: str | torch.device = "cpu", batch_size: int = 8) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.net = net
        self.device = torch.device(device)
        self.batch_size = int(batch_size)
        self._model: torch.nn.Module | None = None

    def _get_model(self) -> torch.nn.Module:
        if self._model is None:
            from sqgan_ros.training.lpips import LPIPS

            self._model = LPIPS(self.net).to(self.device)
        return self._model

    @torch.inference_mode()
    def __call__(self, reference: np.ndarray | torch.Tensor, test: np.ndarray | torch.Tensor) -> float | np.ndarray:
        """LPIPS distance(s); ``float`` for one image, ``(B,)`` float64 for a batch.

        Args:
            reference: uint8 RGB ``(H, W, 3)`` or ``(B, H, W, 3)``.
            test: same shape as ``reference``.
        """
        ref, tst, single = _pair(reference, test)
        model = self._get_model()
        out = []
        for start in range(0, ref.shape[0], self.batch_size):
            x = _to_unit_tensor(ref[start:start + self.batch_size], self.device)
            y = _to_unit_tensor(tst[start:start + self.batch_size], self.device)
            out.append(model(x, y).double().cpu().numpy())
        return _finish(np.concatenate(out), single)


def _to_unit_tensor(images: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).to(device).permute(0, 3, 1, 2).float() / 255.0
