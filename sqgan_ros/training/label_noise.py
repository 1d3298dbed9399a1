"""Wrong and unsure label maps for the image branch's conditioning (training only).

At run time the image branch is conditioned on a segmenter's map (SAMM on the robot, SPADE on
the decoded map at the operator), and on real cameras that map is often wrong (a face called
vegetation, a grey wall called sky) or, with ``segmenter_min_confidence``, ``unlabelled`` where
the segmenter is unsure. Trained only on exact synthetic maps, the decoder trusts the map and
paints the class it names. :func:`corrupt_condition` gives the network maps with the segmenter's
kinds of mistakes, while the loss still compares with the true image (and weighs pixels by the
true classes), so the image latents learn to carry what the map gets wrong::

    with probability p per labelled sample, 1-3 of:
      unsure  a rectangle (1/8..1/2 of each side) becomes UNLABELLED
      wrong   a rectangle becomes one random class
      swap    every pixel of one class present becomes another class
"""

from __future__ import annotations

import torch

from sqgan_ros.labels import NUM_LABELLED_CLASSES, UNLABELLED

__all__ = ["corrupt_condition", "KINDS"]

#: The corruptions, in the order their draws are made.
KINDS = ("unsure", "wrong", "swap")


def _rand(generator: torch.Generator) -> float:
    return float(torch.rand((), generator=generator))


def _randint(low: int, high: int, generator: torch.Generator) -> int:
    """Uniform integer in ``[low, high]``."""
    return int(torch.randint(low, high + 1, (), generator=generator))


def corrupt_condition(labels: torch.Tensor, has_labels: torch.Tensor, p: float,
                      generator: torch.Generator, kinds: tuple[str, ...] = KINDS) -> torch.Tensor:
    """A copy of ``labels [B, H, W]`` where each labelled sample is corrupted with probability ``p``.

    Args:
        labels: ``LongTensor [B, H, W]`` (any device; the draws are made on the CPU generator).
        has_labels: ``BoolTensor [B]``; samples without labels are never touched.
        p: probability in ``[0, 1]`` that a labelled sample is corrupted.
        generator: CPU random generator (the trainer seeds it from seed, stage and step).
        kinds: the corruptions drawn from (a subset of :data:`KINDS`).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    if labels.dim() != 3:
        raise ValueError(f"labels must be [B, H, W], got {tuple(labels.shape)}")
    if not kinds or any(k not in KINDS for k in kinds):
        raise ValueError(f"kinds must be a non-empty subset of {KINDS}, got {kinds}")
    out = labels.clone()
    if p == 0.0:
        return out
    _, h, w = labels.shape
    flags = torch.as_tensor(has_labels, dtype=torch.bool).reshape(-1).tolist()
    for b, labelled in enumerate(flags):
        if not labelled or _rand(generator) >= p:
            continue
        for _ in range(_randint(1, 3, generator)):
            kind = KINDS.index(kinds[_randint(0, len(kinds) - 1, generator)])
            if kind < 2:
                rh, rw = _randint(max(1, h // 8), max(1, h // 2), generator), _randint(max(1, w // 8), max(1, w // 2), generator)
                y, x = _randint(0, h - rh, generator), _randint(0, w - rw, generator)
                value = UNLABELLED if kind == 0 else _randint(0, NUM_LABELLED_CLASSES - 1, generator)
                out[b, y:y + rh, x:x + rw] = value
            else:
                present = [int(c) for c in torch.unique(out[b]).tolist() if c != UNLABELLED]
                if not present:
                    continue
                source = present[_randint(0, len(present) - 1, generator)]
                target = (source + _randint(1, NUM_LABELLED_CLASSES - 1, generator)) % NUM_LABELLED_CLASSES
                out[b][out[b] == source] = target
    return out
