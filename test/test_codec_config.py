"""Config presets, dict round trip, validation; de-masker positions on any grid."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from sqgan_ros.codec.config import PRESETS, from_dict, get_config, to_dict
from sqgan_ros.codec.demasker import AdaptiveDemasker, sinusoidal_positions


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_round_trip(name: str) -> None:
    config = get_config(name)
    assert from_dict(to_dict(config)) == config


def test_unknown_and_missing_keys_are_errors() -> None:
    data = to_dict(get_config("tiny"))
    with pytest.raises(ValueError, match="unknown"):
        from_dict({**data, "extra": 1})
    bad_branch = {**data, "image": {**data["image"], "colour": 3}}
    with pytest.raises(ValueError, match="unknown"):
        from_dict(bad_branch)
    missing = dict(data)
    del missing["semantic"]
    with pytest.raises(ValueError, match="missing"):
        from_dict(missing)
    with pytest.raises(ValueError, match="unknown preset"):
        get_config("huge")


def test_invalid_values_raise() -> None:
    tiny = get_config("tiny")
    with pytest.raises(ValueError):
        dataclasses.replace(tiny.image, codebook_dim=6)
    with pytest.raises(ValueError):
        dataclasses.replace(tiny, image_size=(30, 64))
    with pytest.raises(ValueError, match="downsampling"):
        dataclasses.replace(tiny, image=dataclasses.replace(tiny.image, channels=(8, 8)))


def test_paper_and_small_are_f16() -> None:
    assert get_config("paper").downsampling == 16
    assert get_config("small").downsampling == 16
    assert get_config("small").grid(256, 512) == (16, 32)
    assert get_config("paper").image.codebook_size == 1024


def test_positions_work_for_any_grid() -> None:
    a = sinusoidal_positions((8, 16), 16)
    b = sinusoidal_positions((16, 32), 16)
    assert a.shape == (128, 16) and b.shape == (512, 16)
    # The encoding of a cell does not depend on the grid size (crops share the top-left cells).
    torch.testing.assert_close(a.view(8, 16, 16), b.view(16, 32, 16)[:8, :16])
    adm = AdaptiveDemasker(16, layers=2, heads=2, ffn_mult=1)
    mask = torch.rand(3, 128) < 0.5
    assert adm(torch.randn(3, 128, 16), mask, (8, 16)).shape == (3, 128, 16)


def test_demasker_is_batched_and_ignores_masked_tokens() -> None:
    torch.manual_seed(0)
    adm = AdaptiveDemasker(8, layers=2, heads=2, ffn_mult=1).eval()
    tokens = torch.randn(2, 12, 8)
    mask = torch.rand(2, 12) < 0.5
    mask[:, 0] = True
    out = adm(tokens, mask, (3, 4))
    single = torch.cat([adm(tokens[i:i + 1], mask[i:i + 1], (3, 4)) for i in range(2)])
    torch.testing.assert_close(out, single, atol=1e-5, rtol=1e-5)
    noisy = torch.where(mask.unsqueeze(-1), tokens, torch.randn(2, 12, 8))
    torch.testing.assert_close(adm(noisy, mask, (3, 4)), out)
    with pytest.raises(ValueError):
        adm(tokens, mask, (4, 4))


def test_model_config_goes_through_the_one_strict_loader() -> None:
    """Model files' configs: unknown keys, wrong types and missing keys are errors that name the key."""
    from sqgan_ros.codec.config import from_dict, get_config, to_dict

    good = to_dict(get_config("small_v2"))
    assert from_dict(good) == get_config("small_v2")
    bad_type = to_dict(get_config("small"))
    bad_type["image"]["channels"] = [64, "96", 160]
    with pytest.raises(ValueError, match=r"image\.channels\[1\]"):
        from_dict(bad_type)
    unknown = to_dict(get_config("small"))
    unknown["semantic"]["chanels"] = 1
    with pytest.raises(ValueError, match="chanels"):
        from_dict(unknown)
    missing = to_dict(get_config("small"))
    del missing["image"]["codebook_size"]
    with pytest.raises(ValueError, match="missing keys in image branch config"):
        from_dict(missing)
