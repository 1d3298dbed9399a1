"""Pinhole camera, world-space shapes and near-plane clipping for the street generator.

World frame: X to the right of the street axis, Y up (ground at Y = 0), Z along the street.
The camera looks down +Z with an optional small yaw::

    u = cx + f * Xc / Zc        v = cy - f * Yc / Zc      (Xc, Yc, Zc: camera coordinates)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sqgan_ros.data.synthetic.textures import Material

NEAR = 0.4  # metres; geometry closer than this to the camera plane is clipped away


@dataclass(frozen=True)
class Camera:
    """A pinhole camera on the street.

    Args:
        x: Lateral position (m).
        height: Height above ground (m).
        z: Position along the street (m).
        focal: Focal length in pixels.
        cx: Principal point column (pixels).
        cy: Horizon row (pixels).
        yaw: Rotation about the vertical axis (radians, positive turns right).
    """

    x: float
    height: float
    z: float
    focal: float
    cx: float
    cy: float
    yaw: float = 0.0

    def to_camera(self, pts: np.ndarray) -> np.ndarray:
        """World points (N, 3) to camera coordinates (N, 3)."""
        rel = pts - np.array([self.x, self.height, self.z], dtype=np.float64)
        if self.yaw == 0.0:
            return rel
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        out = rel.copy()
        out[:, 0] = c * rel[:, 0] - s * rel[:, 2]
        out[:, 2] = s * rel[:, 0] + c * rel[:, 2]
        return out

    def project_camera(self, cam_pts: np.ndarray, min_z: float | None = None) -> np.ndarray:
        """Camera-frame points (N, 3) with Z > 0 to pixel coordinates (N, 2).

        Args:
            cam_pts: Points in camera coordinates.
            min_z: If given, points are projected as if their Z were at least ``min_z`` (finite
                results for points behind the camera, exact ones for the others).
        """
        z = cam_pts[:, 2] if min_z is None else np.maximum(cam_pts[:, 2], min_z)
        uv = np.empty((cam_pts.shape[0], 2), np.float64)
        uv[:, 0] = self.cx + self.focal * cam_pts[:, 0] / z
        uv[:, 1] = self.cy - self.focal * cam_pts[:, 1] / z
        return uv


@dataclass
class Shape:
    """One flat polygon with its class and appearance.

    Args:
        verts: World vertices (N, 3), N >= 3, planar and convex or simple.
        label: Class index (sqgan_ros.labels).
        colour: RGB albedo 0..255.
        material: Screen-space detail pattern.
        amp: Detail amplitude (0 = flat).
        texture: Optional facade texture: (texture array, origin, axis_s, axis_t, metres_s, metres_t)
            mapping a world quad ``origin + a*axis_s + b*axis_t`` (a, b in [0, 1]) to the texture.
        ground: True for surfaces on the ground plane (their haze depth comes from the row).
    """

    verts: np.ndarray
    label: int
    colour: tuple[float, float, float]
    material: int = Material.FLAT
    amp: float = 0.0
    texture: tuple | None = None
    ground: bool = False


@dataclass
class SceneObject:
    """Shapes drawn together, in order, at one painter's-algorithm depth.

    Args:
        layer: Coarse drawing order (0 sky/backdrop, 1 ground, 2 frontage, 3 street objects).
        depth: Distance key along Z (world); larger is drawn first within a layer.
        shapes: Shapes in drawing order.
    """

    layer: int
    depth: float
    shapes: list[Shape] = field(default_factory=list)


def clip_near_rows(rows: Sequence[Sequence[float]], near: float = NEAR) -> list[Sequence[float]]:
    """Clip a polygon given as (x, y, z) rows of Python floats to Z >= near (Sutherland-Hodgman).

    Plain float arithmetic: per coordinate the same IEEE operations as numpy's ``a + t * (b - a)``
    on rows (bit-identical to it), without a numpy call per vertex.

    Args:
        rows: Polygon vertices in camera coordinates, e.g. ``cam_pts.tolist()``.
        near: Near plane distance.

    Returns:
        The clipped polygon's rows (the kept input rows and new (x, y, z) tuples); may be empty.
    """
    out = []
    n = len(rows)
    for i in range(n):
        a, b = rows[i], rows[(i + 1) % n]
        a_in, b_in = a[2] >= near, b[2] >= near
        if a_in:
            out.append(a)
        if a_in != b_in:
            ax, ay, az = a
            bx, by, bz = b
            t = (near - az) / (bz - az)
            out.append((ax + t * (bx - ax), ay + t * (by - ay), az + t * (bz - az)))
    return out


def clip_near(cam_pts: np.ndarray, near: float = NEAR) -> np.ndarray:
    """Clip a polygon in camera coordinates to the half-space Z >= near (Sutherland-Hodgman).

    Args:
        cam_pts: Polygon vertices (N, 3) in camera coordinates.
        near: Near plane distance.

    Returns:
        Clipped vertices (M, 3); M may be 0.
    """
    return np.array(clip_near_rows(cam_pts.tolist(), near), dtype=np.float64).reshape(-1, 3)


def flat_vertices(*coords: float) -> np.ndarray:
    """Vertices (N, 3) float64 from flat ``x0, y0, z0, x1, y1, z1, ...`` values.

    A flat sequence converts about 1.6x faster than nested rows (no shape discovery), with the
    same values.
    """
    return np.array(coords, np.float64).reshape(-1, 3)


def quad(origin: np.ndarray | tuple, axis_s: np.ndarray | tuple, axis_t: np.ndarray | tuple) -> np.ndarray:
    """The 4 vertices of the parallelogram ``origin + [0,1] axis_s + [0,1] axis_t``."""
    ox, oy, oz = origin
    sx, sy, sz = axis_s
    tx, ty, tz = axis_t
    ax, ay, az = ox + sx, oy + sy, oz + sz
    return flat_vertices(ox, oy, oz, ax, ay, az, ax + tx, ay + ty, az + tz, ox + tx, oy + ty, oz + tz)


def box_faces(x0: float, x1: float, y0: float, y1: float, z0: float, z1: float,
              cam_pos: tuple[float, float, float]) -> list[tuple[str, np.ndarray]]:
    """Faces of an axis-aligned box that face the camera position, back faces culled.

    Args:
        x0: Left edge of the box (world metres, X right); ``x0 < x1``.
        x1: Right edge (m).
        y0: Bottom of the box (m, Y up); ``y0 < y1``.
        y1: Top of the box (m).
        z0: Near end of the box along the street (m, Z forward); ``z0 < z1``.
        z1: Far end (m).
        cam_pos: Camera (x, y, z) in world coordinates.

    Returns:
        List of (face name, vertices (4, 3)) in a safe drawing order: "top", then the side
        ("left"/"right"), then the end ("near"/"far").
    """
    cx, cy, cz = cam_pos
    faces = []
    if cy > y1:
        faces.append(("top", flat_vertices(x0, y1, z0, x1, y1, z0, x1, y1, z1, x0, y1, z1)))
    if cx < x0:
        faces.append(("left", flat_vertices(x0, y0, z0, x0, y0, z1, x0, y1, z1, x0, y1, z0)))
    elif cx > x1:
        faces.append(("right", flat_vertices(x1, y0, z0, x1, y0, z1, x1, y1, z1, x1, y1, z0)))
    if cz < z0:
        faces.append(("near", flat_vertices(x0, y0, z0, x1, y0, z0, x1, y1, z0, x0, y1, z0)))
    elif cz > z1:
        faces.append(("far", flat_vertices(x0, y0, z1, x1, y0, z1, x1, y1, z1, x0, y1, z1)))
    return faces


@functools.cache
def unit_circle(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(cos, sin) of ``n`` angles evenly spaced over [0, 2 pi), computed once per ``n`` (read-only)."""
    a = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    cos, sin = np.cos(a), np.sin(a)
    cos.setflags(write=False)
    sin.setflags(write=False)
    return cos, sin


@functools.cache
def _unit_disc(n: int) -> np.ndarray:
    """Rows (cos, sin, 0) of :func:`unit_circle`'s ``n`` angles, made once per ``n`` (read-only)."""
    cos, sin = unit_circle(n)
    rows = np.zeros((n, 3))
    rows[:, 0] = cos
    rows[:, 1] = sin
    rows.setflags(write=False)
    return rows


def disc(center: tuple[float, float, float], rx: float, ry: float, n: int = 12) -> np.ndarray:
    """A polygonal ellipse in the plane Z = center[2] (faces the camera).

    Rows ``(cx + rx cos, cy + ry sin, cz)``, computed as ``(cos, sin, 0) * (rx, ry, 0) + center``:
    the same products and sums (IEEE multiplication and addition commute exactly), in two passes.
    """
    pts = _unit_disc(n) * (rx, ry, 0.0)
    pts += center
    return pts


def planar(points_xy: np.ndarray | list, x: float, y: float, z: float, scale: float = 1.0,
           flip: bool = False) -> np.ndarray:
    """Place 2-D points (metres, x right, y up) in the plane Z = z at (x, y).

    Args:
        points_xy: (N, 2) array or sequence of (x, y) pairs.
        x: World X (m) of the 2-D origin.
        y: World Y (m) of the 2-D origin.
        z: Depth of the plane (world Z, m).
        scale: Scale applied to the 2-D points.
        flip: Mirror left-right.
    """
    if isinstance(points_xy, np.ndarray):
        p = np.asarray(points_xy, np.float64).reshape(-1, 2)
        out = np.empty((p.shape[0], 3))
        out[:, 0] = x + (-p[:, 0] if flip else p[:, 0]) * scale
        out[:, 1] = y + p[:, 1] * scale
        out[:, 2] = z
        return out
    # short Python sequences: plain float arithmetic, bit-identical to the numpy path above
    x, y, z = float(x), float(y), float(z)
    flat: list[float] = []
    sx = -scale if flip else scale  # x + (-px) * scale == x + px * (-scale), exactly
    for px, py in points_xy:
        flat += (x + float(px) * sx, y + float(py) * scale, z)
    return np.array(flat, np.float64).reshape(-1, 3)


def segment(p0: tuple[float, float], p1: tuple[float, float], width: float) -> list[tuple[float, float]]:
    """A 2-D thick segment (4 points) between p0 and p1, for use with :func:`planar`."""
    ax, ay = float(p0[0]), float(p0[1])
    bx, by = float(p1[0]), float(p1[1])
    dx, dy = bx - ax, by - ay
    k = float(np.hypot(dx, dy))
    half = width / 2
    nx, ny = -dy / (k + 1e-9) * half, dx / (k + 1e-9) * half
    return [(ax + nx, ay + ny), (bx + nx, by + ny), (bx - nx, by - ny), (ax - nx, ay - ny)]
