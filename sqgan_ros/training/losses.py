"""Loss terms of SQ-GAN training (Pezone et al., IEEE TCCN 2025; VQ-GAN, Esser et al., CVPR 2021).

Image branch:    L = sum_c w_c * |x - x_hat| (per-pixel weight from the label map)
                     + lpips_weight * LPIPS(x, x_hat) + lambda * hinge_g + cb_weight * codebook
Semantic branch: L = class-weighted CE(logits, s) (labelled samples only) + lambda * hinge_g + codebook
lambda = min(factor * ||grad_last L_rec|| / ||grad_last L_gan||, cap)  (VQ-GAN adaptive weight)

Class weights are 20-entry vectors indexed by label (``sqgan_ros.labels``), so every label,
including "unlabelled", has exactly one weight (the paper's code multiplied 20 weights with 19
channels).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sqgan_ros.labels import CE_LOSS_WEIGHTS, L1_LOSS_WEIGHTS, NUM_CLASSES, weight_vector


def default_l1_weights() -> torch.Tensor:
    """Per-class weights of the image L1 loss from the paper (``labels.L1_LOSS_WEIGHTS``)."""
    return torch.from_numpy(weight_vector(L1_LOSS_WEIGHTS))


def default_ce_weights() -> torch.Tensor:
    """Per-class weights of the semantic cross-entropy from the paper (``labels.CE_LOSS_WEIGHTS``)."""
    return torch.from_numpy(weight_vector(CE_LOSS_WEIGHTS))


class ClassFrequency(torch.nn.Module):
    """Running pixel frequency of each class, for frequency-balanced class weights.

    An exponential moving average of the per-batch label histogram (its first update replaces the
    uniform start), kept on the module's device. Not saved: a resumed run re-learns it within a
    few dozen batches.

    Args:
        momentum: weight of the past in the moving average.
    """

    def __init__(self, momentum: float = 0.99) -> None:
        super().__init__()
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = momentum
        self.register_buffer("freq", torch.full((NUM_CLASSES,), 1.0 / NUM_CLASSES), persistent=False)
        self.register_buffer("updates", torch.zeros((), dtype=torch.long), persistent=False)

    @torch.no_grad()
    def update(self, labels: torch.Tensor) -> None:
        """Fold the histogram of ``labels`` (any shape, values 0..19) into the average."""
        if labels.numel() == 0:
            return
        hist = torch.bincount(labels.reshape(-1), minlength=NUM_CLASSES)[:NUM_CLASSES].to(self.freq)
        hist = hist / hist.sum()
        m = self.momentum if int(self.updates) > 0 else 0.0
        self.freq.mul_(m).add_(hist, alpha=1.0 - m)
        self.updates += 1

    def balance(self, exponent: float, lo: float = 0.1, hi: float = 10.0) -> torch.Tensor:
        """``[20]`` factors ``(freq / mean freq of the seen classes) ** -exponent``, clipped.

        A class not seen yet keeps the factor 1.
        """
        seen = self.freq > 0
        if exponent == 0.0 or not bool(seen.any()):
            return torch.ones_like(self.freq)
        rel = self.freq / self.freq[seen].mean()
        factor = torch.ones_like(self.freq)
        factor[seen] = rel[seen].pow(-exponent).clamp(lo, hi)
        return factor


def _check_labels(labels: torch.Tensor, batch: int, size: tuple[int, int]) -> None:
    if labels.dtype != torch.long:
        raise TypeError(f"labels must be int64, got {labels.dtype}")
    if labels.shape != (batch, *size):
        raise ValueError(f"labels must be [B,H,W] = {(batch, *size)}, got {tuple(labels.shape)}")


def _check_weights(weights: torch.Tensor) -> None:
    if weights.shape != (NUM_CLASSES,):
        raise ValueError(f"class weights must have shape ({NUM_CLASSES},), got {tuple(weights.shape)}")


def weighted_l1(pred: torch.Tensor, target: torch.Tensor, labels: torch.Tensor,
                class_weights: torch.Tensor) -> torch.Tensor:
    """Mean over pixels of ``w[label] * mean_c |pred - target|``.

    Args:
        pred: reconstruction ``[B,3,H,W]``.
        target: original ``[B,3,H,W]``.
        labels: ``LongTensor[B,H,W]`` in 0..19.
        class_weights: ``[20]`` weight per label.
    """
    if pred.shape != target.shape or pred.dim() != 4:
        raise ValueError(f"pred and target must be equal [B,C,H,W], got {tuple(pred.shape)}, {tuple(target.shape)}")
    _check_labels(labels, pred.shape[0], tuple(pred.shape[-2:]))
    _check_weights(class_weights)
    pixel_weight = class_weights.to(pred.device, pred.dtype)[labels]
    return (torch.abs(pred - target).mean(dim=1) * pixel_weight).mean()


def weighted_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, has_labels: torch.Tensor,
                           class_weights: torch.Tensor) -> torch.Tensor:
    """Class-weighted cross-entropy over samples that have labels.

    Normalised like ``torch.nn.CrossEntropyLoss(weight=...)``: sum of ``w[y] * -log p(y)`` divided by
    the sum of ``w[y]`` over the counted pixels. Samples with ``has_labels`` False contribute nothing;
    a batch without any labelled sample gives a zero that still carries a graph.

    Args:
        logits: ``[B,20,H,W]``.
        labels: ``LongTensor[B,H,W]``.
        has_labels: ``BoolTensor[B]``.
        class_weights: ``[20]``.
    """
    if logits.dim() != 4 or logits.shape[1] != NUM_CLASSES:
        raise ValueError(f"logits must be [B,{NUM_CLASSES},H,W], got {tuple(logits.shape)}")
    _check_labels(labels, logits.shape[0], tuple(logits.shape[-2:]))
    _check_weights(class_weights)
    has_labels = torch.as_tensor(has_labels, dtype=torch.bool, device=logits.device).reshape(-1)
    if has_labels.shape[0] != logits.shape[0]:
        raise ValueError(f"has_labels must have {logits.shape[0]} entries, got {has_labels.shape[0]}")
    weights = class_weights.to(logits.device, torch.float32)
    nll = F.cross_entropy(logits.float(), labels, reduction="none")  # [B,H,W]
    pixel_weight = weights[labels] * has_labels.view(-1, 1, 1).float()
    denom = pixel_weight.sum()
    if denom <= 0:
        return logits.sum() * 0.0
    return (nll * pixel_weight).sum() / denom


def hinge_d_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss ``0.5 * (E[relu(1 - D(x))] + E[relu(1 + D(x_hat))])``."""
    return 0.5 * (F.relu(1.0 - logits_real).mean() + F.relu(1.0 + logits_fake).mean())


def hinge_g_loss(logits_fake: torch.Tensor) -> torch.Tensor:
    """Generator hinge loss ``-E[D(x_hat)]``."""
    return -logits_fake.mean()


def adaptive_gan_weight(rec_loss: torch.Tensor, gan_loss: torch.Tensor, last_layer: torch.Tensor,
                        factor: float, cap: float, eps: float = 1e-4) -> torch.Tensor:
    """VQ-GAN's adaptive GAN weight, scaled and capped: ``min(factor * |g_rec| / (|g_gan| + eps), cap)``.

    Gradients are taken w.r.t. the decoder's last layer weight; the result is detached.

    Args:
        rec_loss: reconstruction loss (scalar, with graph).
        gan_loss: generator GAN loss (scalar, with graph).
        last_layer: the decoder's last layer weight (``Branch.last_layer_weight``).
        factor: multiplier (paper: image 0.15, semantic 0.75).
        cap: upper bound (paper: image 0.2, semantic 1.0).
        eps: stabiliser of the ratio.
    """
    if factor < 0 or cap < 0:
        raise ValueError(f"factor and cap must be >= 0, got {factor}, {cap}")
    rec_grad = torch.autograd.grad(rec_loss, last_layer, retain_graph=True, allow_unused=True)[0]
    gan_grad = torch.autograd.grad(gan_loss, last_layer, retain_graph=True, allow_unused=True)[0]
    if rec_grad is None or gan_grad is None:
        raise ValueError("last_layer does not take part in both losses; pass the decoder's last layer weight")
    ratio = rec_grad.float().norm() / (gan_grad.float().norm() + eps)
    return torch.clamp(factor * ratio, 0.0, cap).detach()
