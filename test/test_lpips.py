"""LPIPS in torch against reference values computed with the lpips_jax implementation itself.

Reference values: ``lpips_jax.LPIPSEvaluator(replicate=False, net=...)`` (jax/flax 0.10/0.12 on
CPU, in a throwaway venv) on :func:`_fixed_pair` (NHWC in [-1, 1]); our module takes [0, 1].
"""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch

from sqgan_ros import setup_assets
from sqgan_ros.training.lpips import LPIPS, LPIPSWeightsMissingError

# net -> (d(a, b), d(a, -a)) from lpips_jax 0.1.0
REFERENCE = {
    "alexnet": (0.12621790170669556, 0.2369551658630371),
    "vgg16": (0.29751527309417725, 0.7139687538146973),
}


def _fixed_pair(h: int = 64, w: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic image pair in [-1, 1], NHWC, no RNG (same formula used for the reference)."""
    y, x = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    a = np.stack([np.sin(x / 5.0 + y / 7.0), np.cos(x / 3.0 - y / 11.0), np.sin((x * y) / 300.0)], -1)
    b = np.stack([np.sin(x / 5.5 + y / 6.0), np.cos(x / 3.0 - y / 9.0) * 0.8, np.cos((x + 2 * y) / 13.0)], -1)
    return (0.9 * a).astype(np.float32)[None], (0.9 * b).astype(np.float32)[None]


def _to_torch01(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy((img + 1.0) / 2.0).permute(0, 3, 1, 2).contiguous()


@pytest.fixture(scope="module", params=["alexnet", "vgg16"])
def lpips_model(request) -> LPIPS:
    try:
        return LPIPS(request.param)
    except LPIPSWeightsMissingError:
        try:  # scripts/setup.sh normally did this; convert now if the registry is reachable
            setup_assets.convert_lpips(nets=(request.param,))
        except Exception as exc:  # noqa: BLE001 - any failure means conversion is impossible here
            pytest.skip(f"LPIPS weights missing and conversion impossible ({exc}); run scripts/setup.sh")
        return LPIPS(request.param)


def test_reference_values(lpips_model: LPIPS) -> None:
    a, b = _fixed_pair()
    ref_ab, ref_neg = REFERENCE[lpips_model.net]
    with torch.no_grad():
        assert lpips_model(_to_torch01(a), _to_torch01(b)).item() == pytest.approx(ref_ab, abs=1e-4)
        assert lpips_model(_to_torch01(a), _to_torch01(-a)).item() == pytest.approx(ref_neg, abs=1e-4)


def test_identical_images_give_zero_and_batch_is_per_sample(lpips_model: LPIPS) -> None:
    a, b = _fixed_pair()
    x = torch.cat([_to_torch01(a), _to_torch01(b)])
    y = torch.cat([_to_torch01(a), _to_torch01(a)])
    with torch.no_grad():
        d = lpips_model(x, y)
    assert d.shape == (2,)
    assert d[0].item() == pytest.approx(0.0, abs=1e-7)
    assert d[1].item() == pytest.approx(REFERENCE[lpips_model.net][0], abs=1e-4)  # symmetric


def test_gradients_flow_to_input_not_to_weights(lpips_model: LPIPS) -> None:
    a, b = _fixed_pair(32, 48)
    x = _to_torch01(a).requires_grad_(True)
    lpips_model(x, _to_torch01(b)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in lpips_model.parameters())
    assert not lpips_model.train().training


def test_shape_mismatch_raises(lpips_model: LPIPS) -> None:
    with pytest.raises(ValueError):
        lpips_model(torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 16))


def test_missing_weights_error_says_to_run_setup(tmp_path) -> None:
    with pytest.raises(LPIPSWeightsMissingError, match="setup"):
        LPIPS("alexnet", weights_path=tmp_path / "nope.safetensors")
    with pytest.raises(ValueError):
        LPIPS("resnet")


def test_converter_unpickler_refuses_code() -> None:
    payload = pickle.dumps({"f": print})
    with pytest.raises(pickle.UnpicklingError):
        setup_assets._NumpyOnlyUnpickler(io.BytesIO(payload)).load()
    arrays = pickle.dumps({"k": np.arange(3, dtype=np.float32)})
    assert setup_assets._NumpyOnlyUnpickler(io.BytesIO(arrays)).load()["k"].tolist() == [0, 1, 2]


def test_cache_dir_env_override(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SQGAN_ROS_CACHE", str(tmp_path))
    assert setup_assets.lpips_weights_path("vgg16") == tmp_path / "lpips" / "lpips_vgg16.safetensors"
