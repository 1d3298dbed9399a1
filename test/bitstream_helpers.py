"""Shared builders for the bitstream tests (not a test module)."""

from __future__ import annotations

import zlib

import numpy as np

from sqgan_ros.bitstream import BranchSymbols, FrameSymbols

MODEL_ID = b"\x01\x23\x45\x67\x89\xab\xcd\xef"
CODEBOOKS = {"semantic": 1024, "image": 1024}


def random_branch(rng: np.random.Generator, grid: tuple[int, int], k: int,
                  codebook_size: int = 1024) -> BranchSymbols:
    """Random positions and indices."""
    n = grid[0] * grid[1]
    positions = np.sort(rng.choice(n, size=k, replace=False))
    return BranchSymbols(grid, positions, rng.integers(0, codebook_size, size=k))


def smooth_field(rng: np.random.Generator, grid: tuple[int, int], scale: float) -> np.ndarray:
    """A random low-pass field (a stand-in for SAMM's spatially coherent scores)."""
    noise = np.fft.fft2(rng.normal(size=grid))
    ky = np.fft.fftfreq(grid[0])[:, None]
    kx = np.fft.fftfreq(grid[1])[None, :]
    return np.real(np.fft.ifft2(noise * np.exp(-(kx**2 + ky**2) * scale**2 * 20)))


def clustered_branch(rng: np.random.Generator, grid: tuple[int, int], k: int,
                     skew: float = 0.0, codebook_size: int = 1024) -> BranchSymbols:
    """Top-k of a smooth field; indices Zipf-like when ``skew`` > 0 (else uniform)."""
    field = smooth_field(rng, grid, rng.uniform(1.0, 3.0))
    positions = np.sort(np.argsort(-field.ravel(), kind="stable")[:k])
    if skew > 0:
        weights = 1.0 / np.arange(1, codebook_size + 1) ** skew
        indices = rng.choice(codebook_size, size=k, p=weights / weights.sum())
    else:
        indices = rng.integers(0, codebook_size, size=k)
    return BranchSymbols(grid, positions, indices)


def with_crc(body: bytes) -> bytes:
    """Append the container's CRC-32 to forged header + payload bytes."""
    return body + zlib.crc32(body).to_bytes(4, "big")


def frame(rng: np.random.Generator, grid: tuple[int, int] = (16, 32),
          ks: tuple[int, int] = (26, 205)) -> FrameSymbols:
    """A random frame with both branches on one grid."""
    return FrameSymbols(random_branch(rng, grid, ks[0]), random_branch(rng, grid, ks[1]))
