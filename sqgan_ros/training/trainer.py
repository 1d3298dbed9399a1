"""Three-stage SQ-GAN trainer: single process, or DDP under torchrun, with no code changes.

    for stage in (1, 2, 3):                       (see sqgan_ros.training.stages)
        for step in range(steps):
            r   = sample_keep_ratio(seed, stage, step)         same on every rank
            G   : forward -> L_rec + L_cb (+ lambda * hinge_g once step >= gan_start)
                  backward, clip, Adam(0.5, 0.9), lr = warm-up + cosine
            D   : (step >= gan_start) hinge_d on [real, fake.detach()] in one call
            rank 0: tqdm (losses, img/s), TensorBoard, checkpoint every N steps and at the end

Checkpoints (``<out>/checkpoint.{safetensors,json}``) hold model, discriminators, optimizers and RNG
states; resuming continues identically (exact with ``data.num_workers == 0``; with workers, the
augmentation random streams of the workers restart). Data order comes from a ``DistributedSampler``
seeded by (seed, stage, epoch); the batches of the current epoch already consumed are skipped by
index, without loading them.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from sqgan_ros.codec.precision import cpu_has_native_bf16
from sqgan_ros.training import losses
from sqgan_ros.training.checkpoint import CheckpointMeta, load_checkpoint, load_train_state, read_meta, save_checkpoint, save_train_state
from sqgan_ros.training.config import STAGE_NAMES, TrainConfig
from sqgan_ros.training.discriminator import PatchDiscriminator
from sqgan_ros.training.distributed import DistInfo
from sqgan_ros.training.label_noise import KINDS, corrupt_condition
from sqgan_ros.training.lpips import LPIPS
from sqgan_ros.training.schedule import lr_factor, sample_keep_ratio
from sqgan_ros.training.stages import LossContext, StageForward, decoded_semantic_labels, image_forward, semantic_forward

CHECKPOINT_NAME = "checkpoint"


def read_stage_file(out_dir: Path, stage: int) -> bool:
    """True if the end-of-stage checkpoint ``<out>/stage<N>`` exists."""
    return (Path(out_dir) / f"stage{stage}.json").is_file()


class Trainer:
    """Owns the model, discriminators, optimizers and the loop of one training run.

    Args:
        config: training configuration.
        model: an ``SQGAN`` (``.semantic``, ``.image`` branches).
        dataset: dataset yielding ``{"image", "labels", "has_labels"}``.
        out_dir: run directory (checkpoints, TensorBoard logs).
        dist_info: process placement (``init_distributed()``); single CPU process by default.
        lpips: LPIPS network for the image stages; built from ``config.loss.lpips_net`` if None.
    """

    def __init__(self, config: TrainConfig, model: nn.Module, dataset: Dataset, out_dir: str | Path,
                 dist_info: DistInfo | None = None, lpips: LPIPS | None = None) -> None:
        self.config = config.validate()
        self.dist = dist_info or DistInfo(0, 1, 0, torch.device("cpu"))
        self.device = self.dist.device
        self.model = model.to(self.device)
        if config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.dataset = dataset
        self.out_dir = Path(out_dir)
        self.disc = nn.ModuleDict({
            "semantic": PatchDiscriminator(model.semantic.num_classes, config.loss.disc_channels,
                                           config.loss.disc_layers),
            "image": PatchDiscriminator(3, config.loss.disc_channels, config.loss.disc_layers),
        }).to(self.device)
        self._lpips = lpips
        self.ctx: LossContext | None = None
        self.stage = 1
        self.step = 0
        self._writer = None
        self.state_path: Path | None = None  # committed training state (use_state)
        self.deadline: float | None = None   # time.monotonic() after which fit() stops
        self.start_stage(1)

    # ----- stage set-up ---------------------------------------------------------------------
    def _branch_name(self, stage: int) -> str:
        return "semantic" if stage == 1 else "image"

    def _ensure_ctx(self, stage: int) -> LossContext:
        if self.ctx is None or (stage > 1 and self.ctx.lpips is None):
            lpips = None
            if stage > 1:
                lpips = self._lpips if self._lpips is not None else LPIPS(self.config.loss.lpips_net)
            self.ctx = LossContext(self.config.loss, lpips).to(self.device)
        return self.ctx

    def start_stage(self, stage: int) -> None:
        """Begin ``stage`` at step 0: freeze the other branch, wrap for DDP, fresh optimizers.

        Args:
            stage: 1 (semantic), 2 (image on ground truth) or 3 (image on decoded s_hat).
        """
        if stage not in STAGE_NAMES:
            raise ValueError(f"stage must be one of {sorted(STAGE_NAMES)}, got {stage}")
        self.stage, self.step = stage, 0
        self.resume_warmup = 0
        name = self._branch_name(stage)
        branch = getattr(self.model, name)
        self.model.requires_grad_(False)
        self.model.eval()
        branch.requires_grad_(True)
        branch.train()
        disc = self.disc[name]
        disc.requires_grad_(True)
        disc.train()
        self.branch = branch
        self.branch_disc = disc
        if self.dist.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.branch_ddp: nn.Module = DistributedDataParallel(branch, device_ids=ids,
                                                                 find_unused_parameters=True)
            self.disc_ddp: nn.Module = DistributedDataParallel(disc, device_ids=ids)
        else:
            self.branch_ddp, self.disc_ddp = branch, disc
        optim = self.config.optim
        self.base_lr = optim.lr if optim.lr is not None else (
            optim.lr_per_sample * self.config.batch_size * self.dist.world_size)
        self.opt_g = torch.optim.Adam([p for p in branch.parameters() if p.requires_grad],
                                      lr=self.base_lr, betas=optim.betas)
        self.opt_d = torch.optim.Adam(disc.parameters(), lr=self.base_lr * optim.disc_lr_factor,
                                      betas=optim.betas)

    # ----- data -------------------------------------------------------------------------------
    def _batches(self, start_step: int) -> Iterator[dict[str, torch.Tensor]]:
        world, batch = self.dist.world_size, self.config.batch_size
        per_epoch = len(self.dataset) // (batch * world)
        if per_epoch < 1:
            raise ValueError(f"dataset of {len(self.dataset)} samples is smaller than one global batch "
                             f"({batch} x {world} processes)")
        epoch, offset = divmod(start_step, per_epoch)
        seed = self.config.seed * 1000 + self.stage
        while True:
            sampler = DistributedSampler(self.dataset, num_replicas=world, rank=self.dist.rank,
                                         shuffle=True, seed=seed, drop_last=True)
            sampler.set_epoch(epoch)
            indices = list(iter(sampler))[offset * batch: per_epoch * batch]
            loader = DataLoader(self.dataset, batch_size=batch, sampler=indices, drop_last=True,
                                num_workers=self.config.data.num_workers,
                                pin_memory=self.device.type == "cuda",
                                generator=torch.Generator().manual_seed(seed * 100003 + epoch))
            for i, item in enumerate(loader):
                item = self._copy_paste(item, epoch, offset + i)
                yield {k: v.to(self.device, non_blocking=True) if isinstance(v, torch.Tensor) else v
                       for k, v in item.items()}
            epoch, offset = epoch + 1, 0

    def _copy_paste(self, batch: dict, epoch: int, index: int) -> dict:
        """Paper's batch copy-paste of traffic lights/signs, seeded per (seed, stage, epoch, batch, rank)."""
        p = self.config.data.copy_paste_p
        if not self.config.data.augment or p <= 0 or batch["image"].shape[0] < 2:
            return batch
        from sqgan_ros.data.augment import batch_copy_paste

        rng = np.random.default_rng([self.config.seed, self.stage, epoch, index, self.dist.rank])
        image, labels = batch_copy_paste(batch["image"], batch["labels"], p, generator=rng)
        return {**batch, "image": image, "labels": labels}

    # ----- one step ---------------------------------------------------------------------------
    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.config.amp and (self.device.type == "cuda"
                                or (self.device.type == "cpu" and cpu_has_native_bf16())):
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def keep_ratio(self, stream: int = 0) -> float:
        """Keep ratio of the current step (deterministic in seed, stage, step)."""
        kr = self.config.keep_ratio
        return sample_keep_ratio(self.config.seed, self.stage * 10_000_000 + self.step, stream,
                                 kr.mu, kr.sigma, kr.levels)

    def _condition(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The label map of a training step, with ``data.label_noise`` (stage 1: ``semantic_label_noise``) applied.

        The image branch's condition in stages 2 and 3; the semantic branch's input and target in stage 1.
        """
        p = self.config.data.semantic_label_noise if self.stage == 1 else self.config.data.label_noise
        if p == 0.0:
            return batch["labels"]
        gen = torch.Generator().manual_seed(self.config.seed * 1_000_003 + self.stage * 10_000_000 + self.step)
        # the semantic branch codes what it is given: wrong rectangles and swapped classes would
        # only blur the scene layouts its de-masker relies on; 'unlabelled' areas it must learn
        kinds = ("unsure",) if self.stage == 1 else KINDS
        return corrupt_condition(batch["labels"], batch["has_labels"], p, gen, kinds)

    def _forward(self, batch: dict[str, torch.Tensor], ratio: float | None = None,
                 branch: nn.Module | None = None, training: bool = False) -> StageForward:
        ctx = self._ensure_ctx(self.stage)
        branch = branch if branch is not None else self.branch_ddp
        semantic_ratio = self.keep_ratio(stream=1) if ratio is None else ratio
        ratio = self.keep_ratio() if ratio is None else ratio
        if self.stage == 1:
            # the corrupted map is both what is coded and the target: the branch learns to code
            # 'unlabelled' areas (segmenter_min_confidence) and layouts no scene generator makes
            coded = {**batch, "labels": self._condition(batch)} if training else batch
            return semantic_forward(branch, coded, ratio, ctx)
        condition = self._condition(batch) if training else batch["labels"]
        if self.stage == 2:
            return image_forward(branch, batch, condition, ratio, ctx, encoder_labels=condition)
        s_hat = decoded_semantic_labels(self.model.semantic, condition, semantic_ratio)
        return image_forward(branch, batch, s_hat, ratio, ctx, encoder_labels=condition)

    @torch.no_grad()
    def evaluate(self, batch: dict[str, torch.Tensor], keep_ratio: float = 1.0) -> dict[str, float]:
        """Generator losses of the current stage on ``batch`` in eval mode (no updates).

        Args:
            batch: ``{"image", "labels", "has_labels"}`` (moved to the device here).
            keep_ratio: fixed keep ratio for both branches.

        Returns:
            ``{"rec": ..., "codebook": ..., "loss": rec + codebook, **stage logs}``.
        """
        batch = {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
        self.branch.eval()
        try:
            with self._autocast():
                fwd = self._forward(batch, keep_ratio, branch=self.branch)
        finally:
            self.branch.train()
        out = {k: float(v) for k, v in fwd.logs.items()}
        out.update(rec=float(fwd.rec_loss), codebook=float(fwd.codebook_loss),
                   loss=float(fwd.rec_loss + fwd.codebook_loss))
        return out

    def _set_lr(self) -> float:
        optim = self.config.optim
        factor = lr_factor(self.step, max(self.config.stage_steps(self.stage), 1), optim.warmup_steps,
                           optim.min_lr_factor)
        since = self.step - self.resume_warmup
        if self.resume_warmup and 0 <= since < optim.warmup_steps:  # fresh Adam after a state resume
            factor *= (since + 1) / optim.warmup_steps
        for group in self.opt_g.param_groups:
            group["lr"] = self.base_lr * factor
        for group in self.opt_d.param_groups:
            group["lr"] = self.base_lr * optim.disc_lr_factor * factor
        return self.base_lr * factor

    def gan_active(self) -> bool:
        """True once the discriminator has started in this stage."""
        return self.step >= self.config.loss.gan_start_step

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """One generator (and, once active, discriminator) update on ``batch``; returns logs."""
        loss_cfg, clip = self.config.loss, self.config.optim.grad_clip
        lr = self._set_lr()
        gan = self.gan_active()
        factor, cap = ((loss_cfg.semantic_gan_factor, loss_cfg.semantic_gan_cap) if self.stage == 1
                       else (loss_cfg.image_gan_factor, loss_cfg.image_gan_cap))
        with self._autocast():
            fwd = self._forward(batch, training=True)
            total = fwd.rec_loss + fwd.codebook_loss
            logs = {k: float(v) for k, v in fwd.logs.items()}
            if gan:
                self.branch_disc.requires_grad_(False)
                g_loss = losses.hinge_g_loss(self.branch_disc(fwd.disc_fake).float())
                self.branch_disc.requires_grad_(True)
                weight = losses.adaptive_gan_weight(fwd.rec_loss, g_loss, self.branch.last_layer_weight,
                                                    factor, cap)
                total = total + weight * g_loss
                logs.update(g_loss=float(g_loss.detach()), gan_weight=float(weight))
        self.opt_g.zero_grad(set_to_none=True)
        total.backward()
        if clip > 0:
            logs["grad_norm"] = float(nn.utils.clip_grad_norm_(self.branch.parameters(), clip))
        self.opt_g.step()
        if gan:
            with self._autocast():
                both = torch.cat([fwd.disc_real, fwd.disc_fake.detach()]).float()
                real_logits, fake_logits = self.disc_ddp(both).float().chunk(2)
                d_loss = losses.hinge_d_loss(real_logits, fake_logits)
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            if clip > 0:
                nn.utils.clip_grad_norm_(self.branch_disc.parameters(), clip)
            self.opt_d.step()
            logs["d_loss"] = float(d_loss.detach())
        self.step += 1
        logs.update(loss=float(total.detach()), lr=lr)
        return logs

    # ----- checkpoints ------------------------------------------------------------------------
    def _modules(self) -> dict[str, nn.Module]:
        return {"model": self.model, "disc": self.disc}

    def checkpoint_path(self) -> Path:
        """Base path of the rolling checkpoint of this run."""
        return self.out_dir / CHECKPOINT_NAME

    def save(self, path: str | Path | None = None, extra: dict[str, Any] | None = None) -> Path | None:
        """Save a checkpoint (rank 0 only; other ranks return None)."""
        if not self.dist.is_main:
            return None
        meta = CheckpointMeta(self.stage, self.step, self.config.to_dict(), extra or {})
        saved = save_checkpoint(path or self.checkpoint_path(), self._modules(),
                                {"gen": self.opt_g, "disc": self.opt_d}, meta)
        self.save_state()
        return saved

    def use_state(self, path: str | Path, stage: int) -> CheckpointMeta | None:
        """Continue from the committed training state at ``path`` if there is one, and keep it.

        The state (``save_train_state``: the stage's branch in float16, codebook EMA buffers,
        stage and step) is rewritten at every checkpoint and by :meth:`save_state`. Optimizer
        moments are not in it: Adam starts afresh with a short warm-up.

        Args:
            path: base path of the state, e.g. ``models/train_state/image``.
            stage: the stage this run trains; a state of another stage raises ValueError.

        Returns:
            The loaded state's meta, or None when there was none yet.
        """
        self.state_path = Path(path)
        if self.stage != stage:
            self.start_stage(stage)
        if not self.state_path.with_suffix(".json").is_file():
            return None
        meta = load_train_state(self.state_path, self.model)
        if meta.stage != stage:
            raise ValueError(f"training state {path} is of stage {meta.stage}, this run trains stage {stage}")
        self.step = meta.step
        self.resume_warmup = self.step
        return meta

    def save_state(self) -> Path | None:
        """Write the committed training state (rank 0, when :meth:`use_state` set a path)."""
        if self.state_path is None or not self.dist.is_main:
            return None
        meta = CheckpointMeta(self.stage, self.step, self.config.to_dict(),
                              {"samples_seen": self.step * self.config.batch_size * self.dist.world_size})
        return save_train_state(self.state_path, self.model, self._branch_name(self.stage), meta)

    def load(self, path: str | Path | None = None) -> CheckpointMeta:
        """Resume from a checkpoint: its stage, step, weights, optimizer and RNG states.

        A checkpoint whose stage is complete moves on to the next stage with fresh optimizers.
        """
        path = path or self.checkpoint_path()
        meta = read_meta(path)
        if meta.stage != self.stage:
            self.start_stage(meta.stage)
        load_checkpoint(path, self._modules(), {"gen": self.opt_g, "disc": self.opt_d})
        self.step = meta.step
        return meta

    # ----- the loop ---------------------------------------------------------------------------
    def _log_writer(self):
        if self._writer is None and self.dist.is_main and self.config.log.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard not installed: keep training, log to the console only
                self.config.log.tensorboard = False
                return None
            self._writer = SummaryWriter(str(self.out_dir / "tb"))
        return self._writer

    def fit(self, stages: Sequence[int] = (1, 2, 3), max_steps: int | None = None) -> dict[str, float]:
        """Run (or continue) the given stages in order.

        Args:
            stages: stage numbers, increasing (e.g. ``(1, 2, 3)`` or ``(2,)``).
            max_steps: stop after this many optimizer steps in this call (for smoke runs).

        Returns:
            The logs of the last step.
        """
        if not stages or list(stages) != sorted(set(stages)) or any(s not in STAGE_NAMES for s in stages):
            raise ValueError(f"stages must be increasing values of {sorted(STAGE_NAMES)}, got {stages}")
        done, last = 0, {}
        for stage in stages:
            if stage < self.stage:  # resumed past it
                continue
            if stage != self.stage:
                self.start_stage(stage)
            total = self.config.stage_steps(stage)
            ran = self.step < total
            if ran:
                last = self._run_stage(total, None if max_steps is None else max_steps - done)
                done += int(last.pop("_steps"))
            if self.step < total:  # stopped by max_steps
                break
            if ran or not read_stage_file(self.out_dir, stage):
                self.save(self.out_dir / f"stage{stage}")
        if self._writer is not None:
            self._writer.flush()
        return last

    def _run_stage(self, total: int, budget: int | None) -> dict[str, float]:
        log_cfg = self.config.log
        bar = None
        if self.dist.is_main and log_cfg.progress:
            from tqdm import tqdm

            bar = tqdm(total=total, initial=self.step, desc=f"stage {self.stage} ({STAGE_NAMES[self.stage]})",
                       dynamic_ncols=True)
        writer = self._log_writer()
        global_batch = self.config.batch_size * self.dist.world_size
        logs: dict[str, float] = {}
        steps = 0
        batches = self._batches(self.step)
        try:
            while self.step < total and (budget is None or steps < budget) and (
                    self.deadline is None or time.monotonic() < self.deadline):
                batch = next(batches)
                start = time.perf_counter()
                logs = self.train_step(batch)
                if self.device.type == "cuda":
                    torch.cuda.synchronize(self.device)
                logs["img_per_s"] = global_batch / max(time.perf_counter() - start, 1e-9)
                steps += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix({k: f"{logs[k]:.4g}" for k in ("loss", "ce", "l1", "lpips", "d_loss", "img_per_s")
                                     if k in logs})
                if bar is None and self.dist.is_main and self.step % log_cfg.every == 0:
                    print(f"stage {self.stage} step {self.step}/{total} " + " ".join(
                        f"{k}={logs[k]:.4g}" for k in ("loss", "ce", "l1", "lpips", "psnr", "lr", "img_per_s")
                        if k in logs), flush=True)
                if writer is not None and (self.step % log_cfg.every == 0 or self.step == total):
                    tag = STAGE_NAMES[self.stage]
                    for key, value in logs.items():
                        if math.isfinite(value):
                            writer.add_scalar(f"{tag}/{key}", value, self.step)
                if self.step % log_cfg.checkpoint_every == 0 or self.step == total:
                    self.save()
        finally:
            if bar is not None:
                bar.close()
        logs["_steps"] = steps
        return logs
