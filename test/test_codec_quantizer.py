"""EMA vector quantizer: EMA moves codes, dead codes restart, decode_indices matches."""

from __future__ import annotations

import pytest
import torch

from sqgan_ros.codec.quantizer import EMAVectorQuantizer


def test_ema_moves_codes_toward_assigned_features() -> None:
    torch.manual_seed(0)
    vq = EMAVectorQuantizer(4, 2, decay=0.9).train()
    target = torch.tensor([3.0, -2.0])
    z = target + 0.01 * torch.randn(64, 2)
    code = int(vq.nearest(z[:1])[0])
    before = (vq.embedding[code] - target).norm()
    for _ in range(20):
        vq(z)
    after = (vq.embedding[code] - target).norm()
    assert after < 0.2 * before
    assert vq.cluster_size[code] > 1.0


def test_dead_codes_restart_from_batch_features() -> None:
    torch.manual_seed(1)
    vq = EMAVectorQuantizer(8, 3, decay=0.5).train()
    z = torch.full((16, 3), 100.0) + torch.randn(16, 3) * 0.1
    used = set(vq.nearest(z).tolist())
    for _ in range(15):  # unused codes' EMA size decays below the threshold
        vq(z)
    restarted = [c for c in range(8) if c not in used]
    assert restarted
    for c in restarted:  # were ~N(0, 1/3), now among the batch features (all near 100)
        assert (vq.embedding[c] - z).norm(dim=1).min() < 0.5


def test_update_mask_limits_ema_to_kept_rows() -> None:
    vq = EMAVectorQuantizer(4, 2).train()
    before = vq.embedding.clone()
    mask = torch.zeros(5, dtype=torch.bool)
    mask[0] = True
    out = vq(torch.randn(5, 2), update_mask=mask)
    assert out.indices.shape == (5,)
    changed = (vq.embedding != before).any(1)
    assert int(changed.sum()) >= 1  # the kept row's code (and possibly restarts) only
    # The masked update must be exactly the update of the kept rows alone: any leak of a masked
    # row into the counts, the sums or the restart candidates makes the two codebooks differ.
    import copy

    torch.manual_seed(7)
    z = torch.randn(12, 2) * 3
    keep = torch.tensor([True, False, False, True, False, True, False, False, False, True, False, False])
    masked = EMAVectorQuantizer(4, 2).train()
    alone = copy.deepcopy(masked)
    for _ in range(3):
        torch.manual_seed(11)
        masked(z, update_mask=keep)
        torch.manual_seed(11)
        alone(z[keep])
    for name in ("embedding", "embedding_sum", "cluster_size"):
        assert torch.allclose(getattr(masked, name), getattr(alone, name), atol=1e-6), name
    vq.eval()
    frozen = vq.embedding.clone()
    vq(torch.randn(5, 2))
    assert torch.equal(frozen, vq.embedding)


def test_decode_indices_equals_quantized_in_eval() -> None:
    torch.manual_seed(2)
    vq = EMAVectorQuantizer(16, 4).eval()
    z = torch.randn(10, 4)
    out = vq(z)
    assert torch.equal(vq.decode_indices(out.indices), out.quantized)
    assert torch.equal(vq.decode_indices(out.indices.view(2, 5)), out.quantized.view(2, 5, 4))
    assert out.commitment_loss > 0


def test_straight_through_gradient_in_training() -> None:
    vq = EMAVectorQuantizer(4, 2).train()
    z = torch.randn(3, 2, requires_grad=True)
    out = vq(z)
    (out.quantized.sum() + out.commitment_loss).backward()
    assert z.grad is not None and torch.all(z.grad != 0)


def test_quantizer_input_validation() -> None:
    vq = EMAVectorQuantizer(4, 2)
    with pytest.raises(ValueError):
        vq.nearest(torch.randn(3, 5))
    with pytest.raises(ValueError):
        vq.decode_indices(torch.tensor([4]))
    with pytest.raises(TypeError):
        vq.decode_indices(torch.tensor([0.5]))
    with pytest.raises(ValueError):
        EMAVectorQuantizer(1, 2)


def test_codebook_state_lives_in_buffers() -> None:
    vq = EMAVectorQuantizer(4, 2)
    assert {"embedding", "cluster_size", "embedding_sum"} <= set(vq.state_dict())
    assert not list(vq.parameters())
