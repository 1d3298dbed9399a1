"""The three SQ-GAN training stages as generator forward passes (Pezone et al., IEEE TCCN 2025).

    stage 1  semantic:        labels --G_s(r)--> logits; CE + codebook; D_s: softmax vs one-hot
    stage 2  image:           image, labels --G_x(r, SPADE on labels)--> x_hat; L1_w + LPIPS + codebook;
                              D_x: x_hat blended to x on sky/vegetation vs x
    stage 3  image_finetune:  s_hat = argmax G_s(labels, r_s) (frozen, no grad), then stage 2 with
                              SPADE on s_hat

Each function returns a :class:`StageForward`; the trainer adds the adaptive GAN term and steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from sqgan_ros.labels import UNLABELLED
from sqgan_ros.training import losses
from sqgan_ros.training.config import LossConfig
from sqgan_ros.training.discriminator import blend_unimportant, image_disc_input, semantic_disc_input
from sqgan_ros.training.lpips import LPIPS


@dataclass
class StageForward:
    """Generator-side result of one stage's forward pass.

    Args:
        rec_loss: reconstruction loss (drives the adaptive GAN weight).
        codebook_loss: weighted codebook/commitment loss.
        disc_fake: discriminator input built from the generator output (with graph).
        disc_real: discriminator input for the real sample (no graph).
        logs: scalar tensors to log.
    """

    rec_loss: torch.Tensor
    codebook_loss: torch.Tensor
    disc_fake: torch.Tensor
    disc_real: torch.Tensor
    logs: dict[str, torch.Tensor]


class LossContext(nn.Module):
    """Loss weights and the frozen LPIPS network, moved to the device together.

    Args:
        config: loss configuration.
        lpips: LPIPS module (needed by stages 2 and 3; None for stage 1 only).
    """

    def __init__(self, config: LossConfig, lpips: LPIPS | None) -> None:
        super().__init__()
        self.config = config
        self.lpips = lpips
        self.register_buffer("l1_weights", losses.default_l1_weights().clamp_min(config.l1_weight_floor),
                             persistent=False)
        self.register_buffer("ce_weights", losses.default_ce_weights(), persistent=False)
        self.class_frequency = losses.ClassFrequency()

    def semantic_ce_weights(self, labels: torch.Tensor, has_labels: torch.Tensor) -> torch.Tensor:
        """The semantic CE's class weights for this batch.

        The paper's weights, frequency-balanced by ``config.ce_class_balance`` (the running
        frequency first takes in the labelled samples of the batch); 'unlabelled' keeps its
        paper weight.
        """
        if self.config.ce_class_balance == 0.0:
            return self.ce_weights
        if torch.is_grad_enabled():  # training steps only: evaluation batches leave the histogram
            self.class_frequency.update(labels[has_labels.to(torch.bool).reshape(-1)])
        factor = self.class_frequency.balance(self.config.ce_class_balance)
        # 'unlabelled' is no class of the mIoU and, rare in the maps, would be lifted the most:
        # the branch then answers 'unlabelled' wherever it is unsure
        factor[UNLABELLED] = 1.0
        return self.ce_weights * factor


def semantic_forward(branch: nn.Module, batch: dict[str, torch.Tensor], keep_ratio: float,
                     ctx: LossContext) -> StageForward:
    """Stage 1: semantic branch alone.

    Args:
        branch: the semantic branch (possibly DDP-wrapped).
        batch: ``{"image", "labels", "has_labels"}`` on the device.
        keep_ratio: keep ratio of this step.
        ctx: loss context.
    """
    labels, has_labels = batch["labels"], batch["has_labels"]
    out = branch(labels, keep_ratio)
    ce = losses.weighted_cross_entropy(out.logits, labels, has_labels, ctx.semantic_ce_weights(labels, has_labels))
    codebook = ctx.config.semantic_codebook_weight * out.codebook_loss.float()
    acc = (out.logits.argmax(1) == labels).float().mean()
    return StageForward(ce, codebook, semantic_disc_input(logits=out.logits),
                        semantic_disc_input(labels=labels),
                        {"ce": ce.detach(), "codebook": codebook.detach(), "pixel_acc": acc.detach(),
                         "perplexity": out.perplexity.detach().float()})


def image_forward(branch: nn.Module, batch: dict[str, torch.Tensor], decoder_labels: torch.Tensor,
                  keep_ratio: float, ctx: LossContext, encoder_labels: torch.Tensor | None = None) -> StageForward:
    """Stages 2 and 3: image branch, decoder conditioned on ``decoder_labels``.

    Args:
        branch: the image branch (possibly DDP-wrapped).
        batch: ``{"image", "labels", "has_labels"}`` on the device.
        decoder_labels: SPADE condition (ground truth in stage 2, s_hat in stage 3).
        keep_ratio: keep ratio of this step.
        ctx: loss context (must hold LPIPS).
        encoder_labels: SAMM's condition (None: the batch's labels); the loss always weighs
            pixels by the batch's true labels.
    """
    if ctx.lpips is None:
        raise ValueError("the image stages need an LPIPS network in the loss context")
    image, labels = batch["image"], batch["labels"]
    out = branch(image, labels if encoder_labels is None else encoder_labels, decoder_labels, keep_ratio)
    recon = out.image.float()
    l1 = losses.weighted_l1(recon, image, labels, ctx.l1_weights)
    perceptual = ctx.lpips(recon, image).mean()
    rec = l1 + ctx.config.lpips_weight * perceptual
    codebook = ctx.config.image_codebook_weight * out.codebook_loss.float()
    fake = image_disc_input(blend_unimportant(recon, image, labels))
    mse = torch.mean((recon.detach().clamp(0, 1) - image) ** 2)
    psnr = -10.0 * torch.log10(mse.clamp_min(1e-10))
    return StageForward(rec, codebook, fake, image_disc_input(image),
                        {"l1": l1.detach(), "lpips": perceptual.detach(), "codebook": codebook.detach(),
                         "psnr": psnr, "perplexity": out.perplexity.detach().float()})


@torch.no_grad()
def decoded_semantic_labels(semantic: nn.Module, labels: torch.Tensor, keep_ratio: float) -> torch.Tensor:
    """Stage 3 condition: ``s_hat = argmax G_s(labels)`` from the frozen semantic branch.

    Args:
        semantic: the (frozen, eval-mode) semantic branch.
        labels: ground-truth ``LongTensor[B,H,W]``.
        keep_ratio: the semantic branch's keep ratio for this step.
    """
    return semantic(labels, keep_ratio).logits.argmax(1)
