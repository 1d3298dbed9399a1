"""Procedural texture bank and real-photo patches for the synthetic street generator.

Two kinds of textures are used by :mod:`sqgan_ros.data.synthetic.painter`:

- *Detail tiles*: signed ``int8`` screen-space modulation patterns (value noise, bricks,
  stripes, lattice, grass, high-passed real photos), one per :class:`Material`, precomputed
  once per render size at twice the frame size so that a random window can be sliced per frame.
- *Facade textures*: ``float32`` RGB albedo images in world units (``PIXELS_PER_METRE``) that
  are warped in perspective onto building facades and walls: procedural window grids, brick
  walls, and (when Debian's ``opencv-doc`` is installed) real photos of buildings. The painter
  warps their 16-bit copies (:func:`compact_texture`, made with the bank).

Everything here is deterministic: the bank is built from a fixed seed, so two processes
render identical frames. No file is required; real photos are an optional bonus.
"""

from __future__ import annotations

import enum
import functools
from pathlib import Path

import cv2
import numpy as np

#: Where Debian's ``opencv-doc`` package installs its sample photos and videos.
OPENCV_DOC_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
#: Photos of real facades/streets in opencv-doc used as facade textures.
FACADE_PHOTOS: tuple[str, ...] = ("building.jpg", "leuvenA.jpg", "leuvenB.jpg")
#: Photos whose high-passed luminance is used as fine detail.
DETAIL_PHOTOS: tuple[str, ...] = ("aero1.jpg", "board.jpg", "stuff.jpg", "home.jpg")
#: Facade texture resolution in texture pixels per metre.
PIXELS_PER_METRE = 8
#: Facade texture size (height, width) in pixels: 32 m x 64 m.
FACADE_SHAPE = (256, 512)
_BANK_SEED = 20250101
#: At most this many 16-bit texture copies are kept (the banks hold 24 textures at most).
COMPACT_LIMIT = 64
_compact_copies: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}


class Material(enum.IntEnum):
    """Screen-space detail pattern of a surface."""

    FLAT = 0
    ASPHALT = 1
    FOLIAGE = 2
    BRICKS = 3
    STRIPES = 4
    PLASTER = 5
    PHOTO = 6
    GRASS = 7
    LATTICE = 8
    FABRIC = 9


NUM_MATERIALS = len(Material)


def value_noise(rng: np.random.Generator, shape: tuple[int, int], cell: int,
                octaves: int = 3) -> np.ndarray:
    """Multi-octave value noise in [-1, 1].

    Args:
        rng: Random generator.
        shape: Output (height, width).
        cell: Size in pixels of the coarsest lattice cell.
        octaves: Number of octaves; each halves the cell size and the amplitude.

    Returns:
        float32 array of ``shape``.
    """
    h, w = shape
    out = np.zeros(shape, np.float32)
    amp, total = 1.0, 0.0
    for _ in range(octaves):
        gh, gw = max(2, h // cell + 2), max(2, w // cell + 2)
        grid = rng.uniform(-1.0, 1.0, (gh, gw)).astype(np.float32)
        up = cv2.resize(grid, (gw * cell, gh * cell), interpolation=cv2.INTER_CUBIC)
        out += amp * up[:h, :w]
        total += amp
        amp *= 0.5
        cell = max(1, cell // 2)
    out /= total
    return np.clip(out / (np.abs(out).max() + 1e-6), -1.0, 1.0)


def _bricks(shape: tuple[int, int], bw: int, bh: int, rng: np.random.Generator) -> np.ndarray:
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    row = yy // bh
    xs = xx + (row % 2) * (bw // 2)
    mortar = ((yy % bh) < 1) | ((xs % bw) < 1)
    brick_id = row * 1000 + xs // bw
    shade = np.random.default_rng(rng.integers(1 << 31)).uniform(-0.4, 0.4, 1 << 16)
    val = shade[brick_id % (1 << 16)]
    val = np.where(mortar, 0.9, val)
    return val.astype(np.float32)


def _load_photo(name: str) -> np.ndarray | None:
    path = OPENCV_DOC_DATA / name
    if not path.is_file():
        return None
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@functools.lru_cache(maxsize=1)
def available_photos() -> tuple[str, ...]:
    """Names of the opencv-doc photos found on this machine (empty when not installed)."""
    return tuple(n for n in FACADE_PHOTOS + DETAIL_PHOTOS if (OPENCV_DOC_DATA / n).is_file())


def _photo_detail(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray | None:
    photos = [p for p in (_load_photo(n) for n in DETAIL_PHOTOS + FACADE_PHOTOS) if p is not None]
    if not photos:
        return None
    h, w = shape
    tiles = []
    for photo in photos:
        grey = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY).astype(np.float32)
        grey = cv2.resize(grey, (w, h), interpolation=cv2.INTER_AREA)
        tiles.append(grey - cv2.GaussianBlur(grey, (0, 0), 4.0))
    mix = tiles[int(rng.integers(len(tiles)))]
    return mix / (np.abs(mix).max() + 1e-6)


@functools.lru_cache(maxsize=8)
def detail_tiles(size: tuple[int, int]) -> np.ndarray:
    """Detail tiles for every :class:`Material` at twice the frame ``size``.

    Args:
        size: Frame (height, width).

    Returns:
        Read-only ``int8`` array (NUM_MATERIALS, 2H, 2W) with values in [-127, 127].
    """
    h, w = 2 * size[0], 2 * size[1]
    rng = np.random.default_rng(_BANK_SEED)
    scale = max(1, size[1] // 256)
    tiles = np.zeros((NUM_MATERIALS, h, w), np.float32)
    tiles[Material.ASPHALT] = value_noise(rng, (h, w), 4 * scale, 3) * 0.6 + rng.uniform(-0.4, 0.4, (h, w))
    tiles[Material.FOLIAGE] = value_noise(rng, (h, w), 3 * scale, 3)
    tiles[Material.BRICKS] = _bricks((h, w), 6 * scale, 3 * scale, rng)
    stripes = np.sin(np.arange(h, dtype=np.float32) * (2 * np.pi / (4 * scale)))[:, None]
    tiles[Material.STRIPES] = np.broadcast_to(stripes, (h, w)) * 0.8 + value_noise(rng, (h, w), 8, 2) * 0.2
    tiles[Material.PLASTER] = value_noise(rng, (h, w), 16 * scale, 4)
    photo = _photo_detail((h, w), rng)
    tiles[Material.PHOTO] = photo if photo is not None else value_noise(rng, (h, w), 2 * scale, 4)
    tiles[Material.GRASS] = value_noise(rng, (h, w), 2 * scale, 2) * 0.7 + rng.uniform(-0.3, 0.3, (h, w))
    yy, xx = np.mgrid[0:h, 0:w]
    lattice = (((xx + yy) % (5 * scale)) < scale) | (((xx - yy) % (5 * scale)) < scale)
    tiles[Material.LATTICE] = np.where(lattice, 1.0, -0.6)
    tiles[Material.FABRIC] = value_noise(rng, (h, w), 2 * scale, 2)
    out = np.clip(tiles * 127.0, -127, 127).astype(np.int8)
    out.setflags(write=False)
    return out


def _window_facade(rng: np.random.Generator) -> np.ndarray:
    th, tw = FACADE_SHAPE
    ppm = PIXELS_PER_METRE
    wall = 0.75 + 0.2 * value_noise(rng, (th, tw), 32, 3)[..., None]
    tex = np.repeat(wall, 3, axis=2).astype(np.float32)
    if rng.random() < 0.4:
        tex *= (1.0 + 0.25 * _bricks((th, tw), 2 * ppm // 2, ppm // 3, rng))[..., None]
    floor_h = rng.uniform(2.8, 3.6) * ppm
    bay_w = rng.uniform(2.2, 4.0) * ppm
    win_w = bay_w * rng.uniform(0.35, 0.7)
    win_h = floor_h * rng.uniform(0.4, 0.65)
    glass = np.array(rng.uniform([0.15, 0.2, 0.25], [0.35, 0.45, 0.6]), np.float32)
    frame = np.float32(rng.uniform(0.5, 1.0))
    ground_h = rng.uniform(3.5, 4.5) * ppm
    n_floors = int((th - ground_h) // floor_h) + 1
    for f in range(n_floors):
        y_bottom = th - ground_h - f * floor_h - (floor_h - win_h) * 0.5
        y0, y1 = int(y_bottom - win_h), int(y_bottom)
        if y1 <= 0:
            break
        for b in range(int(tw // bay_w) + 1):
            x0 = int(b * bay_w + (bay_w - win_w) / 2)
            x1 = int(x0 + win_w)
            lit = glass * np.float32(rng.uniform(0.7, 1.5))
            tex[max(0, y0 - 1):y1 + 1, max(0, x0 - 1):x1 + 1] = frame
            tex[max(0, y0):y1, max(0, x0):x1] = lit
            if win_w > 6:
                xm = (x0 + x1) // 2
                tex[max(0, y0):y1, xm:xm + 1] = frame
    # ground floor: shop windows and doors
    gy0 = int(th - ground_h * 0.85)
    x = 0
    while x < tw:
        shop_w = int(rng.uniform(3, 8) * ppm)
        if rng.random() < 0.7:
            tex[gy0:th - 2, x + 3:x + shop_w - 3] = glass * np.float32(rng.uniform(0.5, 1.2))
        else:
            tex[gy0:th, x + 3:x + 3 + int(1.2 * ppm)] = np.float32(rng.uniform(0.2, 0.5))
        x += shop_w
    tex[int(th - ground_h) - 2:int(th - ground_h), :] *= 0.7
    return np.clip(tex, 0.0, 1.6)


def _photo_facade(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    th, tw = FACADE_SHAPE
    ph, pw = photo.shape[:2]
    crop_w = int(pw * rng.uniform(0.6, 1.0))
    crop_h = min(ph, crop_w * th // tw * 2)
    x0 = int(rng.integers(0, pw - crop_w + 1))
    y0 = int(rng.integers(0, ph - crop_h + 1))
    crop = photo[y0:y0 + crop_h, x0:x0 + crop_w]
    half = cv2.resize(crop, (tw // 2, th), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    tex = np.concatenate([half, half[:, ::-1]], axis=1)  # mirror so it repeats without a seam
    return tex / max(1e-3, float(tex.mean())) * 0.8


def compact_texture(tex: np.ndarray) -> tuple[np.ndarray, float]:
    """A uint16 copy of a float texture and its unit (``tex ~= texels * unit``), made once per texture.

    Facade warps sample far-away facades sparsely, so they are bound by cache misses: 16-bit
    texels halve the memory they touch (warps ~1.6x faster) while the rounding error stays within
    half a unit (< 2e-5 of the texture's maximum; below 1e-4 of a grey level on screen). Copies are
    kept per texture object (the banks live for the process; their copies are made with them),
    at most ``COMPACT_LIMIT`` of them.

    Args:
        tex: float32 texture with values >= 0.

    Returns:
        (read-only uint16 texels of ``tex``'s shape, unit).
    """
    hit = _compact_copies.get(id(tex))
    if hit is None or hit[0] is not tex:
        unit = max(float(tex.max()), 1e-6) / 65535.0
        texels = np.round(tex / unit).astype(np.uint16)
        texels.setflags(write=False)
        if len(_compact_copies) >= COMPACT_LIMIT:
            _compact_copies.clear()
        hit = _compact_copies[id(tex)] = (tex, texels, unit)
    return hit[1], hit[2]


@functools.lru_cache(maxsize=1)
def facade_textures() -> tuple[np.ndarray, ...]:
    """Facade albedo textures (float32 RGB, ``FACADE_SHAPE``), procedural first, photos last.

    Returns:
        Tuple of read-only arrays; at least 8 procedural ones, plus one per available photo.
    """
    rng = np.random.default_rng(_BANK_SEED + 1)
    textures = [_window_facade(rng) for _ in range(10)]
    for name in FACADE_PHOTOS:
        photo = _load_photo(name)
        if photo is not None:
            textures.append(_photo_facade(photo, rng))
            textures.append(_photo_facade(photo, rng))
    for tex in textures:
        tex.setflags(write=False)
        compact_texture(tex)
    return tuple(textures)


@functools.lru_cache(maxsize=1)
def wall_textures() -> tuple[np.ndarray, ...]:
    """Brick/concrete wall albedo textures (float32 RGB, ``FACADE_SHAPE``)."""
    rng = np.random.default_rng(_BANK_SEED + 2)
    th, tw = FACADE_SHAPE
    out = []
    for i in range(4):
        if i % 2 == 0:
            val = 0.85 + 0.3 * _bricks((th, tw), 2 * PIXELS_PER_METRE // 2, PIXELS_PER_METRE // 3, rng)
        else:
            val = 0.85 + 0.2 * value_noise(rng, (th, tw), 16, 4)
            val[:, ::int(2.5 * PIXELS_PER_METRE)] *= 0.7  # panel joints
        tex = np.repeat(val[..., None], 3, axis=2).astype(np.float32)
        tex.setflags(write=False)
        compact_texture(tex)
        out.append(tex)
    return tuple(out)
