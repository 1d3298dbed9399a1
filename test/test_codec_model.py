"""SQ-GAN networks: shapes, parameter counts, top-k, class weights, transmitter/receiver."""

from __future__ import annotations

import pytest
import torch

from sqgan_ros.codec.config import get_config
from sqgan_ros.codec.model import SQGAN, KeepRatios
from sqgan_ros.codec.samm import keep_count, select_latents
from sqgan_ros.labels import CLASS_INDEX, NUM_CLASSES, weight_vector


@pytest.fixture(scope="module")
def tiny() -> SQGAN:
    torch.manual_seed(0)
    return SQGAN(get_config("tiny")).eval()


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("size", [(32, 64), (16, 16), (48, 32)])
def test_branch_shapes_for_several_sizes(tiny: SQGAN, size: tuple[int, int]) -> None:
    h, w = size
    labels = torch.randint(0, NUM_CLASSES, (2, h, w))
    image = torch.rand(2, 3, h, w)
    n = (h // 8) * (w // 8)
    sem = tiny.semantic(labels, keep_ratio=0.5)
    assert sem.logits.shape == (2, NUM_CLASSES, h, w)
    assert sem.keep_mask.shape == sem.scores.shape == sem.indices.shape == (2, n)
    img = tiny.image(image, labels, labels, keep_ratio=0.5)
    assert img.image.shape == (2, 3, h, w)
    assert img.codebook_loss.dim() == 0
    with pytest.raises(AttributeError):
        _ = img.logits


def test_input_size_not_multiple_raises(tiny: SQGAN) -> None:
    with pytest.raises(ValueError, match="multiple"):
        tiny.semantic(torch.zeros(1, 20, 36, dtype=torch.long), 0.5)
    with pytest.raises(ValueError, match="multiple"):
        get_config("tiny").check_input_size(30, 64)


def test_paper_parameter_count_on_meta_device() -> None:
    with torch.device("meta"):
        model = SQGAN(get_config("paper"))
    total = _count(model)
    assert abs(total - 186e6) / 186e6 < 0.05, total
    assert next(model.parameters()).is_meta


def test_small_parameter_count() -> None:
    with torch.device("meta"):
        model = SQGAN(get_config("small"))
    assert 2e6 < _count(model) < 15e6
    assert _count(model.semantic) < _count(model.image)


@pytest.mark.parametrize("ratio", [0.05, 0.25, 0.5, 1.0, 1e-6])
def test_topk_keeps_exact_count(tiny: SQGAN, ratio: float) -> None:
    labels = torch.randint(0, NUM_CLASSES, (3, 32, 64))
    out = tiny.semantic(labels, keep_ratio=ratio)
    n = out.keep_mask.shape[1]
    expected = max(1, int(ratio * n + 0.5))
    assert keep_count(ratio, n) == expected
    assert out.keep_mask.sum(1).tolist() == [expected] * 3
    # The kept latents are the top-scoring ones.
    kept_min = torch.where(out.keep_mask, out.scores, torch.inf).amin(1)
    dropped_max = torch.where(out.keep_mask, -torch.inf, out.scores).amax(1)
    if expected < n:
        assert torch.all(kept_min >= dropped_max)


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, float("nan")])
def test_bad_keep_ratio_raises(bad: float) -> None:
    with pytest.raises(ValueError):
        keep_count(bad, 10)
    with pytest.raises(ValueError):
        KeepRatios(bad, 0.5)


def test_score_gradient_flows_through_multiplier() -> None:
    torch.manual_seed(1)
    model = SQGAN(get_config("tiny")).train()
    labels = torch.randint(0, NUM_CLASSES, (2, 32, 64))
    out = model.image(torch.rand(2, 3, 32, 64), labels, labels, keep_ratio=0.5)
    (out.image.mean() + out.codebook_loss).backward()
    grad = model.image.samm.score.conv2.weight.grad
    assert grad is not None and grad.abs().sum() > 0


def test_weight_zero_class_only_kept_when_nothing_else() -> None:
    scores = torch.tensor([[0.9, 0.8, 0.1, 0.2]])
    # latents 0,1 are pure class 0 (weight 0); latents 2,3 are class 1.
    fractions = torch.zeros(1, NUM_CLASSES, 4)
    fractions[0, 0, :2] = 1.0
    fractions[0, 1, 2:] = 1.0
    weights = torch.ones(NUM_CLASSES)
    weights[0] = 0.0
    mask = select_latents(scores, 2, fractions, weights)
    assert mask.tolist() == [[False, False, True, True]]
    mask = select_latents(scores, 3, fractions, weights)  # one weight-0 latent: the best-scoring
    assert mask.tolist() == [[True, False, True, True]]
    assert select_latents(scores, 2).tolist() == [[True, True, False, False]]  # paper: by score


def test_neutral_weights_reproduce_paper(tiny: SQGAN) -> None:
    labels = torch.randint(0, NUM_CLASSES, (2, 32, 64))
    image = torch.rand(2, 3, 32, 64)
    tx = tiny.transmitter
    plain = tx.compress(image, labels, KeepRatios(0.3, 0.3))
    ones = tx.compress(image, labels, KeepRatios(0.3, 0.3), torch.ones(NUM_CLASSES))
    assert plain == ones


def test_raising_person_weight_raises_person_share() -> None:
    torch.manual_seed(3)
    model = SQGAN(get_config("tiny")).eval()
    h, w = 64, 128
    labels = torch.full((1, h, w), CLASS_INDEX["road"], dtype=torch.long)
    labels[:, :24, :] = CLASS_INDEX["sky"]
    labels[:, 16:56, 40:72] = CLASS_INDEX["person"]
    image = torch.rand(1, 3, h, w)
    analysis = model.transmitter.analyse(image, labels)
    person_frac = analysis.image.class_fractions[0, CLASS_INDEX["person"]]

    def share(weights: torch.Tensor | None) -> float:
        # 13 of 128 latents; the person covers 20 cells entirely.
        frame = model.transmitter.select(analysis, KeepRatios(0.1, 0.1), weights)[0]
        return float(person_frac[torch.tensor(frame.image.positions)].mean())

    boosted = torch.from_numpy(weight_vector({"person": 10.0}))
    assert share(boosted) > share(None)
    assert share(boosted) > 0.9


def test_transmitter_receiver_match_eval_forward(tiny: SQGAN) -> None:
    torch.manual_seed(4)
    labels = torch.randint(0, NUM_CLASSES, (2, 32, 64))
    image = torch.rand(2, 3, 32, 64)
    ratios = KeepRatios(semantic=0.4, image=0.6)
    with torch.no_grad():
        sem = tiny.semantic(labels, ratios.semantic)
        s_hat = sem.logits.argmax(1)
        img = tiny.image(image, labels, s_hat, ratios.image)
    frames = tiny.transmitter.compress(image, labels, ratios)
    for b, frame in enumerate(frames):
        assert torch.equal(torch.tensor(frame.semantic.positions), sem.keep_mask[b].nonzero().flatten())
        assert torch.equal(torch.tensor(frame.image.indices), img.indices[b][img.keep_mask[b]])
    out_image, out_labels = tiny.receiver.decompress(frames)
    assert torch.equal(out_labels, s_hat)
    torch.testing.assert_close(out_image, img.image.clamp(0, 1), atol=1e-5, rtol=1e-5)


def test_receiver_rejects_bad_symbols(tiny: SQGAN) -> None:
    frames = tiny.transmitter.compress(torch.rand(2, 3, 32, 64), torch.zeros(2, 32, 64, dtype=torch.long),
                                       KeepRatios.both(0.5))
    with pytest.raises(TypeError):
        tiny.receiver.decompress([])
    other = tiny.transmitter.compress(torch.rand(1, 3, 16, 16), torch.zeros(1, 16, 16, dtype=torch.long),
                                      KeepRatios.both(0.5))
    with pytest.raises(ValueError, match="grid"):
        tiny.receiver.decompress([frames[0], other[0]])


def test_labels_validated(tiny: SQGAN) -> None:
    with pytest.raises(ValueError, match="label values"):
        tiny.semantic(torch.full((1, 32, 64), 20, dtype=torch.long), 0.5)
    with pytest.raises(TypeError):
        tiny.semantic(torch.zeros(1, 32, 64), 0.5)
