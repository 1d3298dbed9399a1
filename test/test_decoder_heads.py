"""The upsample + conv decoder head: no per-phase weights, old model files unchanged, --init from pixel-shuffle models."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from sqgan_ros.codec.config import from_dict, get_config, to_dict
from sqgan_ros.codec.decoders import HEAD_CHANNELS
from sqgan_ros.codec.model import SQGAN


def tiny_upsample() -> object:
    tiny = get_config("tiny")
    return dataclasses.replace(tiny, semantic=dataclasses.replace(tiny.semantic, head="upsample_conv"),
                               image=dataclasses.replace(tiny.image, head="upsample_conv"))


def test_upsample_head_is_shift_equivariant_where_pixel_shuffle_is_not() -> None:
    """A constant feature map must decode to a constant image with the upsample head.

    The pixel-shuffle head maps the same features to f*f different sub-pixel outputs: a fixed
    period-f pattern. Zeroing everything before the head shows the difference directly.
    """
    torch.manual_seed(0)
    for head, periodic in (("pixel_shuffle", True), ("upsample_conv", False)):
        config = dataclasses.replace(get_config("small").image, head=head)
        from sqgan_ros.codec.decoders import Decoder

        dec = Decoder(config, 3, 20).eval()
        feats = torch.ones(1, dec.conv_out.in_channels if head == "pixel_shuffle" else dec.conv_mid.in_channels,
                           16, 32)
        with torch.no_grad():
            if head == "pixel_shuffle":
                out = dec.head(dec.conv_out(feats))
            else:
                h = torch.nn.functional.interpolate(dec.conv_mid(feats), scale_factor=4, mode="bilinear")
                out = dec.conv_out(torch.nn.functional.silu(h))
        inner = out[..., 12:-12, 12:-12]  # away from the zero-padded borders
        spread = float((inner - inner.mean(dim=(-2, -1), keepdim=True)).abs().max())
        assert (spread > 1e-3) == periodic, (head, spread)


def test_model_with_upsample_head_runs_and_roundtrips_config() -> None:
    config = tiny_upsample()
    assert from_dict(to_dict(config)) == config
    model = SQGAN(config).eval()
    assert model.image.decoder.conv_out.in_channels == HEAD_CHANNELS
    image = torch.rand(1, 3, 32, 64)
    labels = torch.randint(0, 20, (1, 32, 64))
    with torch.no_grad():
        recon = model.image(image, labels, labels, keep_ratio=0.5).image
        logits = model.semantic(labels, keep_ratio=0.5).logits
    assert recon.shape == image.shape
    assert logits.shape == (1, 20, 32, 64)


def test_pixel_shuffle_configs_keep_their_old_dict() -> None:
    """Model files written before ``head`` existed must keep their config (and so their id)."""
    assert "head" not in to_dict(get_config("small"))["image"]
    assert to_dict(get_config("small_v2"))["image"]["head"] == "upsample_conv"
    with pytest.raises(ValueError, match="head must be"):
        dataclasses.replace(get_config("tiny").image, head="transposed")


def test_init_small_v2_from_a_small_model_file(tmp_path) -> None:
    from sqgan_ros.codec.model_file import save_model
    from sqgan_ros.training.checkpoint import CheckpointError, load_initial_weights

    torch.manual_seed(1)
    source = SQGAN(get_config("tiny")).eval()
    save_model(tmp_path / "m.safetensors", source)
    target = SQGAN(tiny_upsample())
    kind = load_initial_weights(tmp_path / "m.safetensors", target)
    assert kind.startswith("model file (decoder heads start anew")
    src = source.state_dict()
    for name, value in target.state_dict().items():
        if ".decoder.conv_out." in name or ".decoder.conv_mid." in name:
            continue
        assert torch.equal(value, src[name]), name
    other = dataclasses.replace(tiny_upsample(), image=dataclasses.replace(tiny_upsample().image, codebook_size=32))
    with pytest.raises(CheckpointError, match="preset must match"):
        load_initial_weights(tmp_path / "m.safetensors", SQGAN(other))
