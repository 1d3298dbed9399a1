"""Rasterise labelled shapes into an RGB image and an exactly aligned label map.

Every shape is filled once, with ``cv2.fillPoly`` (8-connected, no anti-aliasing, 1/16 pixel
precision), into a ``uint16`` *shape-id* map, back to front (painter's algorithm). The label map
and the image are both derived from that one id map through per-shape lookup tables, so a label
boundary is exactly where the image changes surface::

    shapes --fillPoly--> id map --label LUT--> labels
                                --colour LUT, facade warps, sky (light-mapped)--> detail, haze--> image

The frame's light and overcast desaturation are one linear colour map, applied to the per-shape
colours, the facade texels and the sky colours rather than to every pixel. Only the image gets
soft effects afterwards (a slight camera blur, rain streaks, sensor noise); they never move an
edge by more than about one pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import cv2
import numpy as np

from sqgan_ros.data.synthetic.geometry import NEAR, Camera, SceneObject, Shape, clip_near_rows
from sqgan_ros.data.synthetic.textures import PIXELS_PER_METRE, compact_texture, detail_tiles, value_noise
from sqgan_ros.labels import CLASS_INDEX

_SKY = CLASS_INDEX["sky"]
_SHIFT = 4
_SCALE = float(1 << _SHIFT)
_LIMIT = 30000.0


@dataclass(frozen=True)
class Look:
    """Global appearance of a frame: light, sky and weather.

    Args:
        gain: Overall brightness multiplier.
        temperature: Per-channel RGB multipliers (colour temperature).
        zenith: Sky colour at the top of the image.
        horizon: Sky colour at the horizon.
        clouds: Cloud cover in [0, 1].
        overcast: Desaturation in [0, 1].
        visibility: Haze/fog visibility in metres (large = clear).
        fog_colour: Colour of the haze.
        rain: Rain intensity in [0, 1] (0 = dry).
        blur: Camera blur sigma in pixels.
        noise: Sensor noise standard deviation (0..255 scale).
    """

    gain: float
    temperature: tuple[float, float, float]
    zenith: tuple[float, float, float]
    horizon: tuple[float, float, float]
    clouds: float
    overcast: float
    visibility: float
    fog_colour: tuple[float, float, float]
    rain: float
    blur: float
    noise: float


def sample_look(rng: np.random.Generator) -> Look:
    """Draw lighting and weather: mostly clear or overcast days, some haze, fog and rain."""
    weather = rng.choice(["clear", "clear", "clear", "overcast", "overcast", "haze", "fog", "rain"])
    overcast = float(rng.uniform(0.3, 0.7)) if weather in ("overcast", "fog", "rain") else float(rng.uniform(0, 0.15))
    if weather == "fog":
        visibility = float(rng.uniform(40, 120))
    elif weather in ("haze", "rain"):
        visibility = float(rng.uniform(120, 300))
    else:
        visibility = float(rng.uniform(300, 1500))
    warm = float(rng.uniform(-0.08, 0.1))
    if weather == "clear":
        zenith = (float(rng.uniform(40, 90)), float(rng.uniform(100, 150)), float(rng.uniform(190, 245)))
        horizon = (float(rng.uniform(170, 220)), float(rng.uniform(195, 230)), float(rng.uniform(225, 250)))
    else:
        g = float(rng.uniform(150, 215))
        zenith = (g * 0.9, g * 0.93, g)
        horizon = (g + 20, g + 22, g + 25)
    return Look(
        gain=float(rng.uniform(0.75, 1.15) * (0.85 if weather in ("overcast", "rain") else 1.0)),
        temperature=(1.0 + warm, 1.0, 1.0 - warm),
        zenith=zenith, horizon=horizon,
        clouds=float(rng.uniform(0.0, 0.7)) if weather == "clear" else float(rng.uniform(0.5, 1.0)),
        overcast=overcast, visibility=visibility,
        fog_colour=tuple(float(v) for v in np.array(horizon) * 0.95),
        rain=float(rng.uniform(0.3, 1.0)) if weather == "rain" else 0.0,
        blur=float(rng.uniform(0.35, 0.8)), noise=float(rng.uniform(0.5, 3.0)),
    )


class _Grid:
    """Per-size constants: flat pixel indices into the doubled detail tiles, row depths."""

    _cache: dict[tuple[int, int], _Grid] = {}

    def __init__(self, size: tuple[int, int]) -> None:
        h, w = size
        self.tiles = detail_tiles(size).reshape(detail_tiles(size).shape[0], -1)
        yy, xx = np.mgrid[0:h, 0:w]
        self.base = (yy * (2 * w) + xx).astype(np.int64)
        self.stride = 4 * h * w
        self.rows = np.arange(h, dtype=np.float32)
        rng = np.random.default_rng(7)
        self.clouds = value_noise(rng, (2 * h, 2 * w), max(8, w // 6), 4)
        self.sensor = rng.standard_normal((2 * h, 2 * w)).astype(np.float32)

    @classmethod
    def get(cls, size: tuple[int, int]) -> _Grid:
        grid = cls._cache.get(size)
        if grid is None:
            grid = cls._cache[size] = _Grid(size)
        return grid


def _channels3(plane: np.ndarray) -> np.ndarray:
    """A (H, W) plane repeated into a contiguous (H, W, 3) image (for OpenCV's per-pixel ops)."""
    return cv2.merge((plane, plane, plane))


def _sky(size: tuple[int, int], cam: Camera, look: Look, grid: _Grid, ox: int, oy: int,
         colour_map: np.ndarray | None = None) -> np.ndarray:
    """Sky gradient with clouds for the top ``size[0]`` rows of the frame.

    Per pixel: ``gradient(row) * (1 - cover) + cloud_colour * cover`` with ``gradient(row) =
    horizon + (zenith - horizon) * t(row)``. That is linear in three scalar fields, ``1 - cover``,
    ``(1 - cover) * t`` and ``cover``, with constant colours, so the sky is one 3x3 colour
    transform of those fields (merged into one 3-channel image).

    Args:
        size: (rows, width) of the sky to draw.
        cam: The camera (its horizon row).
        look: Sky colours and cloud cover.
        grid: Per-size constants (cloud noise).
        ox: Column offset of this frame's window into the cloud noise.
        oy: Row offset of this frame's window into the cloud noise.
        colour_map: Optional 3x3 colour map T (see :func:`_colour_map`); the sky is then returned
            as seen through it, ``T(sky)``, computed on the sky's colours (it is linear in them).
    """
    h, w = size
    t = np.clip((cam.cy - grid.rows[:h]) / max(cam.cy, 1.0), 0.0, 1.0)[:, None] ** 0.7
    zen = np.array(look.zenith, np.float32)
    hor = np.array(look.horizon, np.float32)
    grey = np.ones(3, np.float32)  # the clouds' colour direction
    if colour_map is not None:
        zen, hor, grey = colour_map @ zen, colour_map @ hor, colour_map @ grey
    cover = grid.clouds[oy:oy + h, ox:ox + w] - np.float32((1.0 - 2.0 * look.clouds) * 0.6)
    cover *= np.float32(2.5)
    np.clip(cover, 0.0, 1.0, out=cover)
    clear = np.float32(1.0) - cover
    colours = np.stack([hor, zen - hor, grey * np.float32(235 - 60 * look.overcast)], axis=1)
    return cv2.transform(cv2.merge((clear, clear * t, cover)), colours)


def _colour_map(look: Look) -> np.ndarray:
    """3x3 map of light (temperature x gain) then overcast desaturation towards the grey mean."""
    light = np.diag(np.asarray(look.temperature, np.float64) * look.gain)
    k = look.overcast * 0.6 if look.overcast > 0 else 0.0
    desaturate = (1.0 - k) * np.eye(3) + (k / 3.0) * np.ones((3, 3))
    return (desaturate @ light).astype(np.float32)


def finish(lit: np.ndarray, gain: np.ndarray, alpha: np.ndarray, look: Look,
           grain: np.ndarray | None = None) -> np.ndarray:
    """Detail, haze, camera blur and sensor grain of a frame whose albedo is already light-mapped.

    With T the frame's colour map (light then overcast desaturation, :func:`_colour_map`) and
    ``lit = T(albedo)``, this returns (to float rounding)::

        blur(T(albedo * gain) * (1 - alpha) + T(fog) * alpha) + grain

    i.e. detail modulation, haze towards the fog colour, light, desaturation, blur, then rain and
    noise. T is linear and the gain a per-pixel scalar, so ``T(albedo * gain) = lit * gain``, and
    the blur is linear, so the haze's fog term is blurred as one plane:
    ``blur(lit * gain * (1 - alpha)) + T(fog) * blur(alpha) + grain``: three full-frame colour
    passes (multiply, blur, and an add that also converts to uint8) instead of nine.

    Args:
        lit: float32 (H, W, 3) light-mapped albedo, contiguous; overwritten.
        gain: float32 (H, W) detail gain (1 where there is no detail).
        alpha: float32 (H, W) haze opacity in [0, 1].
        look: Light and weather of the frame.
        grain: Optional float32 (H, W) grey signal added after the blur (rain streaks, noise).

    Returns:
        uint8 (H, W, 3) image: values clipped to 0..255 and truncated (as numpy's ``astype``;
        an exact integer value may come out one lower, a difference of one level).
    """
    fog = _colour_map(look) @ np.asarray(look.fog_colour, np.float32)
    keep = np.subtract(np.float32(1.0), alpha)
    keep *= gain
    cv2.multiply(lit, _channels3(keep), dst=lit)
    out = cv2.GaussianBlur(lit, (0, 0), look.blur)
    haze = cv2.GaussianBlur(alpha, (0, 0), look.blur)
    # truncation to uint8 as one saturating add: OpenCV rounds to nearest, and
    # round(x - 0.5) == floor(x) for every x that is not an exact integer
    offset = np.full_like(alpha, -0.5) if grain is None else cv2.subtract(grain, 0.5)
    fog_and_grain = cv2.merge([cv2.scaleAdd(haze, float(f), offset) for f in fog.tolist()])
    return cv2.add(out, fog_and_grain, dtype=cv2.CV_8U)


def _warp_texture(img: np.ndarray, idmap: np.ndarray, sid: int, shape: Shape, cam: Camera,
                  bbox: tuple[int, int, int, int], corners: np.ndarray | None = None,
                  colour_map: np.ndarray | None = None) -> None:
    """Warp ``shape``'s facade texture onto the pixels of ``img`` where ``idmap == sid``.

    Only the bounding box of the visible pixels (within ``bbox``) is warped; nothing is done
    when the face is fully hidden.

    Args:
        img: float32 RGB image, written where ``idmap == sid``.
        idmap: Shape-id map.
        sid: The shape's id.
        shape: A shape with a ``texture``.
        cam: The camera.
        bbox: (x0, y0, x1, y1) pixel box that holds the shape.
        corners: The pixel coordinates (4, 2) of the shape's vertices when the whole quad is in
            front of the camera (they are the texture's corners); None to project them here.
        colour_map: Optional 3x3 colour map T: the texels are written as ``T(colour * texel)``.
    """
    x0, y0, x1, y1 = bbox
    mask = idmap[y0:y1, x0:x1] == sid
    rx, ry, rw, rh = cv2.boundingRect(mask.view(np.uint8))
    if rw == 0 or rh == 0:
        return
    mask = mask[ry:ry + rh, rx:rx + rw]
    x0, y0 = x0 + rx, y0 + ry
    if corners is not None:
        _warp_into(img, mask, (x0, y0), shape, corners - (x0, y0), 0.0, 1.0, colour_map)
        return
    origin, axis_s, axis_t = shape.texture[1:4]
    cam_o = cam.to_camera(origin[None])[0]
    cam_s = cam.to_camera((origin + axis_s)[None])[0] - cam_o
    zs = [cam_o[2], cam_o[2] + cam_s[2]]
    s0, s1 = 0.0, 1.0
    if min(zs) < NEAR + 0.05:  # keep the part of the quad in front of the camera
        if abs(cam_s[2]) < 1e-9:
            return
        s_near = (NEAR + 0.05 - cam_o[2]) / cam_s[2]
        if cam_s[2] > 0:
            s0 = max(s0, s_near)
        else:
            s1 = min(s1, s_near)
        if s1 <= s0:
            return
    world = np.stack([origin + s0 * axis_s, origin + s1 * axis_s, origin + s1 * axis_s + axis_t, origin + s0 * axis_s + axis_t])
    dst = cam.project_camera(cam.to_camera(world))
    dst -= (x0, y0)
    _warp_into(img, mask, (x0, y0), shape, dst, s0, s1, colour_map)


def _warp_into(img: np.ndarray, mask: np.ndarray, origin_px: tuple[int, int], shape: Shape, dst: np.ndarray,
               s0: float, s1: float, colour_map: np.ndarray | None = None) -> None:
    """Warp the part ``s0..s1`` (along its first axis) of ``shape``'s texture to the pixel quad ``dst``.

    Args:
        img: float32 RGB image.
        mask: Where to write, (h, w) bool, placed at ``origin_px`` (x, y) in ``img``.
        origin_px: Top-left pixel of the mask in ``img``.
        shape: The textured shape.
        dst: (4, 2) pixel corners relative to ``origin_px``: (s0, 0), (s1, 0), (s1, 1), (s0, 1).
        s0: Start of the kept part of the quad along its first axis (0..1).
        s1: End of the kept part (0..1, ``s0 < s1``).
        colour_map: Optional 3x3 colour map T: the texels are written as ``T(colour * texel)``,
            in one pass (``T diag(colour)`` applied to the warped texels); None: ``colour * texel``.
    """
    tex, _, _, _, ms, mt, off_px = shape.texture
    th = tex.shape[0]
    x0, y0 = origin_px
    rh, rw = mask.shape
    px_per_m = float(PIXELS_PER_METRE)
    scale_t = min(1.0, (th - 1) / (mt * px_per_m))
    left, right = off_px + s0 * ms * px_per_m, off_px + s1 * ms * px_per_m
    bottom, top = th - 1, th - 1 - mt * px_per_m * scale_t
    src = np.array((left, bottom, right, bottom, right, top, left, top), np.float32).reshape(4, 2)
    hmat = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    texels, unit = compact_texture(tex)
    warped = cv2.warpPerspective(texels, hmat, (rw, rh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    colour = np.asarray(shape.colour, np.float32) * np.float32(unit)
    warped = cv2.transform(warped.astype(np.float32), colour_map * colour if colour_map is not None else np.diag(colour))
    cv2.copyTo(warped, mask.view(np.uint8), img[y0:y0 + rh, x0:x0 + rw])


@dataclass
class _Tables:
    """Per-shape tables indexed by shape id (0 = sky, shape i of the drawing order is id i + 1).

    Args:
        label: Class per id (uint8).
        colour: RGB albedo per id (float32, (n, 3)).
        material: Detail material per id (int64).
        amp: Detail amplitude per id (float32).
        depth: Haze depth per id in metres (float32; mean camera Z of the drawn polygon).
        ground: True where the id's haze depth comes from the image row instead (bool).
    """

    label: np.ndarray
    colour: np.ndarray
    material: np.ndarray
    amp: np.ndarray
    depth: np.ndarray
    ground: np.ndarray

    @classmethod
    def of(cls, shapes: list[Shape], look: Look) -> _Tables:
        """Tables for ``shapes`` in drawing order, all filled at once (depths: 1e4 until projected)."""
        n = len(shapes) + 1
        tables = cls(label=np.zeros(n, np.uint8), colour=np.zeros((n, 3), np.float32),
                     material=np.zeros(n, np.int64), amp=np.zeros(n, np.float32),
                     depth=np.full(n, 1e4, np.float32), ground=np.zeros(n, bool))
        tables.label[0] = _SKY
        tables.colour[0] = look.horizon
        if shapes:
            m = n - 1  # np.fromiter over flat values: no per-row shape discovery, no enum conversion
            tables.label[1:] = [s.label for s in shapes]
            tables.colour[1:] = np.fromiter(chain.from_iterable([s.colour for s in shapes]), np.float32, 3 * m).reshape(m, 3)
            tables.material[1:] = np.fromiter([s.material for s in shapes], np.int64, m)
            tables.amp[1:] = np.fromiter([s.amp for s in shapes], np.float32, m)
            tables.ground[1:] = [s.ground for s in shapes]
        return tables


_Textured = tuple[int, Shape, tuple[int, int, int, int], "np.ndarray | None"]


def _clip_and_project(cam: Camera, cam_pts: np.ndarray
                      ) -> tuple[np.ndarray, tuple[float, float, float, float], float] | None:
    """Clip a polygon that crosses the near plane and project it, on Python floats.

    Per vertex the same operations as :meth:`Camera.project_camera`, ``np.clip`` to the
    coordinate limit and ``np.round`` (half to even, as ``round``) to fixed point, so the
    result is bit-identical to the numpy path without a numpy call per small polygon.

    Args:
        cam: The camera.
        cam_pts: Polygon vertices (N, 3) in camera coordinates.

    Returns:
        None when fewer than 3 vertices remain, else (fixed-point pixel vertices (M, 2) int32,
        pixel box (umin, vmin, umax, vmax), mean camera Z of the clipped polygon).
    """
    rows = clip_near_rows(cam_pts.tolist())
    if len(rows) < 3:
        return None
    cx, cy, focal = cam.cx, cam.cy, cam.focal
    us = [min(max(cx + focal * x / z, -_LIMIT), _LIMIT) for x, _, z in rows]
    vs = [min(max(cy - focal * y / z, -_LIMIT), _LIMIT) for _, y, z in rows]
    fixed = np.array([(round(u * _SCALE), round(v * _SCALE)) for u, v in zip(us, vs)], np.int32)
    depth = np.array([z for _, _, z in rows])
    return fixed, (min(us), min(vs), max(us), max(vs)), float(depth.sum() / len(rows))  # sum / n == mean()


def _rasterise(shapes: list[Shape], cam: Camera, size: tuple[int, int],
               depth: np.ndarray) -> tuple[np.ndarray, list[_Textured]]:
    """Fill the shapes' ids back to front into a uint16 id map.

    All vertices are projected at once; shapes entirely off screen are skipped, shapes that
    cross the near plane are clipped first.

    Args:
        shapes: Shapes in drawing order (shape i gets id i + 1).
        cam: The camera.
        size: (height, width).
        depth: Per-id haze depth table, filled here with each polygon's mean camera Z.

    Returns:
        (id map (H, W) uint16, the drawn textured shapes as (id, shape, pixel box, corners)):
        ``corners`` are the vertices' pixel coordinates when the whole quad is in front of the
        camera (see :func:`_warp_texture`), else None.
    """
    h, w = size
    idmap = np.zeros((h, w), np.uint16)
    textured: list[_Textured] = []
    if not shapes:
        return idmap, textured
    verts = [s.verts for s in shapes]
    counts = np.fromiter(map(len, verts), np.intp, len(verts))
    allpts = cam.to_camera(np.concatenate(verts))
    zall = allpts[:, 2]
    ends = np.cumsum(counts)
    starts = ends - counts
    zmin = np.minimum.reduceat(zall, starts)
    depth[1:] = np.add.reduceat(zall, starts) / counts
    near = zmin < NEAR
    # project with Z floored at NEAR: exact for every shape drawn from these pixels (all its Z >= NEAR);
    # the others are clipped to the near plane and projected again below
    uv_all = cam.project_camera(allpts, min_z=NEAR)
    np.clip(uv_all, -_LIMIT, _LIMIT, out=uv_all)
    lo = np.minimum.reduceat(uv_all, starts, axis=0)
    hi = np.maximum.reduceat(uv_all, starts, axis=0)
    ipts = np.round(uv_all * _SCALE).astype(np.int32)
    on_screen = (hi[:, 0] >= 0) & (hi[:, 1] >= 0) & (lo[:, 0] <= w) & (lo[:, 1] <= h)
    drawn = np.flatnonzero(near | on_screen)
    special = near | np.fromiter([s.texture is not None for s in shapes], bool, len(shapes))
    fill_poly, line_8 = cv2.fillPoly, cv2.LINE_8
    for i, first, last, slow in zip(drawn.tolist(), starts[drawn].tolist(), ends[drawn].tolist(),
                                    special[drawn].tolist()):  # back to front
        sid = i + 1
        if not slow:  # most shapes: in front of the near plane, flat colour
            fill_poly(idmap, [ipts[first:last]], sid, line_8, _SHIFT)
            continue
        shape = shapes[i]
        if near[i]:
            clipped = _clip_and_project(cam, allpts[first:last])
            if clipped is None:
                continue
            fixed, (umin, vmin, umax, vmax), depth[sid] = clipped
            if umax < 0 or vmax < 0 or umin > w or vmin > h:
                continue
            fill_poly(idmap, [fixed], sid, line_8, _SHIFT)
            corners = None
        else:
            fill_poly(idmap, [ipts[first:last]], sid, line_8, _SHIFT)
            umin, vmin = lo[i].tolist()
            umax, vmax = hi[i].tolist()
            in_front = min(zall[first], zall[first + 1]) >= NEAR + 0.05
            corners = uv_all[first:first + 4] if in_front else None
        if shape.texture is not None:
            bbox = (max(0, int(umin) - 1), max(0, int(vmin) - 1), min(w, int(umax) + 2), min(h, int(vmax) + 2))
            if bbox[2] > bbox[0] and bbox[3] > bbox[1]:
                textured.append((sid, shape, bbox, corners))
    return idmap, textured


def _detail_gain(ids: np.ndarray, tables: _Tables, grid: _Grid, ox: int, oy: int) -> np.ndarray:
    """Per-pixel brightness factor ``1 + amp * tile / 127`` from each surface's material tile.

    Args:
        ids: Shape-id map as native ints (H, W).
        tables: Per-id tables.
        grid: Per-size constants (the doubled detail tiles).
        ox: Column offset of this frame's window into the tiles.
        oy: Row offset of this frame's window into the tiles.
    """
    w = ids.shape[1]
    index = np.take(tables.material * grid.stride + (oy * 2 * w + ox), ids)
    index += grid.base
    detail = np.take(grid.tiles.reshape(-1), index)
    gain = np.take(tables.amp * np.float32(1 / 127.0), ids)
    gain *= detail
    gain += np.float32(1.0)
    return gain


def _haze_alpha(ids: np.ndarray, tables: _Tables, cam: Camera, look: Look, grid: _Grid) -> np.ndarray:
    """Per-pixel haze opacity from distance; ground surfaces take their depth from the row.

    Args:
        ids: Shape-id map as native ints (H, W).
        tables: Per-id tables (depth, ground).
        cam: The camera.
        look: Light and weather (visibility).
        grid: Per-size constants (row indices).
    """
    with np.errstate(divide="ignore"):
        row_depth = np.where(grid.rows > cam.cy + 0.5, cam.focal * cam.height / np.maximum(grid.rows - cam.cy, 0.5), 1e4)
    inv_vis = np.float32(1.0 / look.visibility)
    row_alpha = np.minimum(1.0 - np.exp(-row_depth * inv_vis), 0.92).astype(np.float32)
    id_alpha = np.minimum(1.0 - np.exp(-tables.depth * inv_vis), 0.92).astype(np.float32)
    id_alpha[tables.ground] = -1.0  # marks ground pixels (real opacities are >= 0): no second lookup
    alpha = np.take(id_alpha, ids)
    np.copyto(alpha, row_alpha[:, None], where=alpha < 0)
    return alpha


def _rain(size: tuple[int, int], look: Look, rng: np.random.Generator) -> np.ndarray:
    """Anti-aliased rain streaks: a float32 (H, W) grey plane (0..60 * rain) added to the image."""
    h, w = size
    streaks = np.zeros((h, w), np.float32)
    n_streaks = int(look.rain * w * 0.6)
    x0 = rng.uniform(0, w, n_streaks)
    y0 = rng.uniform(-20, h, n_streaks)
    length = rng.uniform(0.03, 0.08, n_streaks) * h
    slant = rng.normal(0.15, 0.05)
    if n_streaks:
        # end points truncated towards zero, as int(); one polylines call draws the open 2-point
        # polylines in order, each exactly as cv2.line would (same anti-aliased line, both ends)
        ends = np.stack([x0, y0, x0 + slant * length, y0 + length], axis=1).astype(np.int32)
        cv2.polylines(streaks, ends.reshape(n_streaks, 2, 2), False, 1.0, 1, cv2.LINE_AA)
    streaks *= np.float32(60.0 * look.rain)
    return streaks


def paint(objects: list[SceneObject], cam: Camera, size: tuple[int, int], look: Look,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Render scene objects into (image RGB uint8 (H,W,3), labels uint8 (H,W)).

    The image is built directly in light-mapped colours (the colour table, the facade texels
    and the sky go through the frame's colour map once, not every pixel), then finished in a
    few full-frame passes by :func:`finish`.

    Args:
        objects: Scene objects; drawn by layer, then far to near.
        cam: The camera.
        size: Output (height, width).
        look: Light and weather.
        rng: Per-frame generator (texture offsets, rain, sensor noise).
    """
    h, w = size
    grid = _Grid.get(size)
    objects = sorted(objects, key=lambda o: (o.layer, -o.depth))
    shapes = [s for o in objects for s in o.shapes]
    if len(shapes) + 1 >= 65535:
        raise ValueError(f"too many shapes to paint ({len(shapes) + 1})")
    tables = _Tables.of(shapes, look)
    idmap, textured = _rasterise(shapes, cam, size, tables.depth)
    # per-shape tables to pixels: np.take with native-int indices is ~2x faster than lut[idmap]
    ids = idmap.astype(np.intp)
    labels = np.take(tables.label, ids)
    colour_map = _colour_map(look)
    lit = np.take(tables.colour @ colour_map.T, ids, axis=0)
    for sid, shape, bbox, corners in textured:
        _warp_texture(lit, idmap, sid, shape, cam, bbox, corners, colour_map)
    ox, oy = int(rng.integers(0, w)), int(rng.integers(0, h))
    gain = _detail_gain(ids, tables, grid, ox, oy)
    # sky (only the rows that hold some; its gain is 1: the sky's detail amplitude is 0)
    sky_mask = idmap == 0
    sky_rows = np.flatnonzero(sky_mask.any(axis=1))
    if sky_rows.size:
        rows = int(sky_rows[-1]) + 1
        sky = _sky((rows, w), cam, look, grid, ox, oy, colour_map)
        cv2.copyTo(sky, sky_mask[:rows].view(np.uint8), lit[:rows])
    alpha = _haze_alpha(ids, tables, cam, look, grid)
    grain = _rain(size, look, rng) if look.rain > 0 else None
    if look.noise > 0:
        noise = grid.sensor[oy:oy + h, ox:ox + w] * np.float32(look.noise)
        grain = noise if grain is None else cv2.add(grain, noise)
    return finish(lit, gain, alpha, look, grain), labels
