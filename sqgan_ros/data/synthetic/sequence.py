"""Camera sequences through a synthetic street, and single labelled frames.

``StreetSequence(seed).render(i)`` is frame ``i`` of a drive down the street of world ``seed``
at ``fps`` frames per second: the world is fixed, the camera advances ``speed`` m/s, traffic
drives, pedestrians walk. Every frame is a pure function of ``(seed, size, speed, fps, i)``.
``render_scene(seed)`` is frame 0 of the sequence of world ``seed``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from sqgan_ros.data.synthetic import objects as ob
from sqgan_ros.data.synthetic.geometry import Camera, SceneObject, Shape, flat_vertices
from sqgan_ros.data.synthetic.painter import Look, paint, sample_look
from sqgan_ros.data.synthetic.scene import CHUNK, Item, StreetWorld, _uniform, triangle_wave, walk_position
from sqgan_ros.data.synthetic.textures import Material

T = TypeVar("T")

FAR = 200.0  # metres of street rendered ahead of the camera
BACKDROP = 215.0


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in size)):
        raise TypeError(f"size must be a (height, width) pair of ints, got {size!r}")
    h, w = int(size[0]), int(size[1])
    if h < 16 or w < 16 or h > 4096 or w > 4096:
        raise ValueError(f"size must be within 16..4096 pixels per side, got {size}")
    return h, w


class StreetSequence:
    """A drive down a procedurally generated street.

    Args:
        seed: World seed (int >= 0).
        size: Frame (height, width) in pixels.
        speed: Camera speed in m/s (0 = parked camera); None draws one from the seed.
        fps: Frame rate used to turn frame indices into time.
    """

    def __init__(self, seed: int, size: tuple[int, int] = (256, 512), speed: float | None = None,
                 fps: float = 10.0) -> None:
        self.size = _check_size(size)
        self.world = StreetWorld(seed)
        rng = np.random.default_rng([self.world.seed, 3])
        if speed is None:
            speed = float(rng.choice([0.0, rng.uniform(3.0, 14.0), rng.uniform(3.0, 14.0), rng.uniform(3.0, 14.0)]))
        if not math.isfinite(float(speed)) or speed < 0 or speed > 60:
            raise ValueError(f"speed must be in [0, 60] m/s, got {speed}")
        if not math.isfinite(float(fps)) or fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.speed = float(speed)
        self.fps = float(fps)
        h, w = self.size
        st = self.world.street
        low = rng.random() < 0.15
        self.cam_height = float(rng.uniform(0.6, 1.0) if low else rng.uniform(1.2, 1.8))
        self.cam_x = st.lane_centre(self.world.camera_lane) + float(rng.uniform(-0.4, 0.4))
        self.focal = float(w * rng.uniform(0.65, 0.95))
        self.horizon = float(h * rng.uniform(0.36, 0.5))
        self.yaw = float(rng.uniform(-0.06, 0.06))
        self.z_start = float(rng.uniform(2 * CHUNK, 40 * CHUNK))
        self.look: Look = sample_look(rng)
        self._backdrop_memo: tuple[float, list] | None = None
        self._ground_memo: dict[tuple, list[Shape]] = {}

    def camera(self, index: int) -> Camera:
        """The camera of frame ``index``."""
        t = index / self.fps
        sway = 0.01 * math.sin(0.7 * t) if self.speed > 0 else 0.0
        return Camera(x=self.cam_x, height=self.cam_height, z=self.z_start + self.speed * t, focal=self.focal,
                      cx=self.size[1] / 2.0, cy=self.horizon, yaw=self.yaw + sway)

    def render(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``index``: (image uint8 (H, W, 3) RGB, labels uint8 (H, W) in 0..18).

        Args:
            index: Frame index (int >= 0).
        """
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"index must be an int, got {type(index).__name__}")
        if index < 0:
            raise ValueError(f"index must be >= 0, got {index}")
        cam = self.camera(int(index))
        t = int(index) / self.fps
        objs = self._objects(cam, t)
        rng = np.random.default_rng([self.world.seed, 4, int(index)])
        return paint(objs, cam, self.size, self.look, rng)

    # ------------------------------------------------------------------ scene assembly
    def _lod(self, d: float) -> int:
        px = self.focal / max(d, 0.1)  # pixels per metre at that distance
        return 0 if px > 14 else 1 if px > 5 else 2

    def _visible(self, cam: Camera, x: float, z: float, margin: float = 4.0) -> bool:
        d = z - cam.z
        if d < -2.0 or d > FAR:
            return False
        half = (self.size[1] / 2.0) / self.focal + 0.1
        return abs(x - cam.x) < max(d, 0.5) * half + margin

    def _objects(self, cam: Camera, t: float) -> list[SceneObject]:
        st = self.world.street
        cam_pos = (cam.x, cam.height, cam.z)
        ground = SceneObject(1, 1e9, [])
        g = ground.shapes
        zb0, zb1 = cam.z - 2.0, cam.z + BACKDROP
        g.append(ob.ground_quad(-600, 600, zb0, zb1, ob.TERRAIN, st.terrain_colour, Material.GRASS, 0.3))
        out = [ground, self._backdrop(cam)]
        first, last = int(math.floor((cam.z - 30) / CHUNK)), int(math.floor((cam.z + FAR) / CHUNK))
        for c in range(first, last + 1):
            za, zb = max(c * CHUNK, zb0) - 0.05, min((c + 1) * CHUNK, zb1) + 0.05
            if zb <= za:  # wholly behind the camera: nothing of it is drawn, don't generate it
                continue
            items, inter = self.world.chunk(c)
            self._ground(g, za, zb, inter, cam)
            for it in items:
                obj = self._item(it, cam, cam_pos, t, g)
                if obj is not None:
                    out.append(obj)
        for a in self.world.traffic_at(t, cam.z, self.speed):
            obj = self._agent(a, cam, cam_pos, g)
            if obj is not None:
                out.append(obj)
        return out

    def _backdrop(self, cam: Camera) -> SceneObject:
        """Far skyline of buildings and trees in the plane Z = cam.z + BACKDROP."""
        z = cam.z + BACKDROP
        shapes = []
        for flat, label, colour, material, amp in self._backdrop_layout(cam.x):
            verts = flat.copy()
            verts[:, 2] = z
            shapes.append(Shape(verts, label, colour, material, amp))
        return SceneObject(0, 1e9, shapes)

    def _backdrop_layout(self, cam_x: float) -> list[tuple[np.ndarray, int, tuple[float, float, float], int, float]]:
        """The backdrop's outlines (Z = 0) and looks around ``cam_x``; drawn once per ``cam_x``."""
        if self._backdrop_memo is not None and self._backdrop_memo[0] == cam_x:
            return self._backdrop_memo[1]
        rng = np.random.default_rng([self.world.seed, 5])
        layout = []
        x = cam_x - 260.0
        urban = self.world.street.urban
        while x < cam_x + 260.0:
            wdt = _uniform(rng, 8, 30)
            hgt = _uniform(rng, 4, 30) if urban else _uniform(rng, 3, 12)
            if rng.random() < 0.3:
                layout.append((flat_vertices(x, 0.0, 0.0, x + wdt, 0.0, 0.0, x + wdt * 0.8, hgt * 0.6, 0.0,
                                             x + wdt * 0.2, hgt * 0.7, 0.0),
                               ob.VEGETATION, (60.0, 90.0, 45.0), Material.FOLIAGE, 0.3))
            else:
                col = _uniform(rng, 90, 170)
                layout.append((flat_vertices(x, 0.0, 0.0, x + wdt, 0.0, 0.0, x + wdt, hgt, 0.0, x, hgt, 0.0),
                               ob.BUILDING, (col, col, col * 1.05), Material.PLASTER, 0.2))
            x += wdt
        self._backdrop_memo = (cam_x, layout)
        return layout

    def _ground(self, g: list[Shape], za: float, zb: float, inter: tuple[float, float] | None, cam: Camera) -> None:
        """Append the ground of the street between ``za`` and ``zb`` (sidewalks, road, markings) to ``g``.

        Only the lane dashes near the camera depend on it, so the shapes are memoised per
        (span, intersection, dashes drawn): a drive rebuilds a chunk's ground only when a dash
        appears or disappears, or at the camera's own chunk.
        """
        spans = [(za, zb)]
        if inter is not None and inter[1] > za and inter[0] < zb:
            spans = [(za, max(za, inter[0])), (min(zb, inter[1]), zb)]
        dashes = tuple(_dashes(s0, s1, cam.z) for s0, s1 in spans)
        key = (za, zb, inter, dashes)
        shapes = self._ground_memo.get(key)
        if shapes is None:
            if len(self._ground_memo) >= 64:
                self._ground_memo.clear()
            shapes = self._ground_memo[key] = self._ground_shapes(za, zb, inter, spans, dashes)
        g.extend(shapes)

    def _ground_shapes(self, za: float, zb: float, inter: tuple[float, float] | None,
                       spans: list[tuple[float, float]], dashes: tuple[tuple[float, ...], ...]) -> list[Shape]:
        """The shapes of :meth:`_ground`, given the spans around an intersection and each span's dashes."""
        st = self.world.street
        rl, rr = st.road_left, st.road_right
        road_c, side_c, mark_c = st.road_colour, st.sidewalk_colour, st.mark_colour
        g: list[Shape] = []
        for side in (-1, 1):
            kerb = rr if side > 0 else rl
            xf = st.frontage(side)
            for s0, s1 in spans:
                if s1 <= s0:
                    continue
                x_in = kerb + side * st.verge
                g.append(ob.ground_quad(min(x_in, xf), max(x_in, xf), s0, s1, ob.SIDEWALK, side_c, Material.BRICKS, 0.12))
                kerb_edge = ob.ground_quad(min(x_in, x_in - side * 0.2), max(x_in, x_in - side * 0.2) + 0.0, s0, s1,
                                           ob.SIDEWALK, tuple(min(255.0, c * 1.25) for c in side_c), Material.FLAT, 0.0)
                g.append(kerb_edge)
                if st.verge > 0:
                    g.append(ob.ground_quad(min(kerb, x_in), max(kerb, x_in), s0, s1, ob.TERRAIN, st.terrain_colour,
                                            Material.GRASS, 0.3))
        g.append(ob.ground_quad(rl, rr, za, zb, ob.ROAD, road_c, Material.ASPHALT, 0.12))
        if inter is not None and inter[1] > za and inter[0] < zb:
            i0, i1 = max(za, inter[0]), min(zb, inter[1])
            g.append(ob.ground_quad(-400, 400, i0, i1, ob.ROAD, road_c, Material.ASPHALT, 0.12))
        # markings (labelled road)
        mark_w = 0.15
        for xl in (rl + (2.3 if st.parking_left else 0.2), rr - (2.3 if st.parking_right else 0.2)):
            for s0, s1 in spans:
                if s1 > s0:
                    g.append(ob.ground_quad(xl - mark_w / 2, xl + mark_w / 2, s0, s1, ob.ROAD, mark_c, Material.ASPHALT, 0.05))
        for lane in range(-st.n_opp + 1, st.n_same):
            xl = lane * st.lane_w
            for (s0, s1), span_dashes in zip(spans, dashes):
                if s1 <= s0:
                    continue
                if lane == 0:
                    for off in ((-0.12, 0.12) if st.n_opp + st.n_same > 2 else (0.0,)):
                        g.append(ob.ground_quad(xl + off - mark_w / 2, xl + off + mark_w / 2, s0, s1, ob.ROAD, mark_c, Material.ASPHALT, 0.05))
                    continue
                for z in span_dashes:
                    g.append(ob.ground_quad(xl - mark_w / 2, xl + mark_w / 2, z, min(z + 3.0, s1), ob.ROAD, mark_c,
                                            Material.ASPHALT, 0.05))
        if st.tram:
            xc = st.lane_centre(-1)
            dark = tuple(c * 0.55 for c in road_c)
            for xr in (xc - 0.75, xc + 0.75):
                g.append(ob.ground_quad(xr - 0.06, xr + 0.06, za, zb, ob.ROAD, dark, Material.FLAT, 0.0))
        return g

    def _crosswalk(self, g: list[Shape], z0: float, z1: float) -> None:
        """Append the stripes of a zebra crossing from ``z0`` to ``z1`` across the road to ``g``."""
        st = self.world.street
        x = st.road_left + 0.3
        while x < st.road_right - 0.5:
            g.append(ob.ground_quad(x, x + 0.5, z0, z1, ob.ROAD, st.mark_colour, Material.ASPHALT, 0.05))
            x += 1.0

    def _item_ground(self, it: Item) -> list[Shape]:
        """The ground shapes of a static item (crossing stripes, terrain, a parked vehicle's shadow).

        They depend on the item and the street only, so they are built once per item
        (memoised under the key ``"ground"``).
        """
        def build() -> list[Shape]:
            g: list[Shape] = []
            kind, p = it.kind, it.p
            st = self.world.street
            if kind == "crosswalk":
                self._crosswalk(g, it.z, p["z1"])
            elif kind == "intersection":
                self._crosswalk(g, it.z - 4.0, it.z - 0.5)
                self._crosswalk(g, p["z1"] + 0.5, p["z1"] + 4.0)
            elif kind == "terrain":
                xs = sorted((p["x_face"], it.x + p["side"] * 40.0))
                g.append(ob.ground_quad(xs[0], xs[1], it.z, p["z1"], ob.TERRAIN, st.terrain_colour, Material.GRASS, 0.3))
            elif kind == "parked":
                vp = p["p"]
                g.append(ob.vehicle_shadow(it.x, it.z, vp["width"], vp["length"], tuple(c * 0.45 for c in st.road_colour)))
            else:
                raise ValueError(f"item kind {kind!r} has no ground shapes")
            return g

        return _built(it, "ground", build)

    def _item(self, it: Item, cam: Camera, cam_pos: tuple, t: float, g: list[Shape]) -> SceneObject | None:
        kind, p = it.kind, it.p
        if kind == "crosswalk" or kind == "intersection":
            if p["z1"] > cam.z - 2 and it.z < cam.z + 120:
                g.extend(self._item_ground(it))
            return None
        if kind == "terrain":
            if p["z1"] >= cam.z - 2 and it.z <= cam.z + FAR:
                g.extend(self._item_ground(it))
            return None
        if kind in ("building", "wall", "fence", "hedge"):
            if p["z1"] < cam.z or it.z > cam.z + FAR:
                return None
            end_wall = cam.z < it.z
            if kind == "building":
                shapes = _built(it, end_wall, lambda: ob.building_shapes(p["side"], it.x, it.z, p["z1"], p, end_wall))
                return SceneObject(2, max(it.z, cam.z), shapes)
            if kind == "wall":
                shapes = _built(it, end_wall, lambda: ob.wall_shapes(p["side"], it.x, it.z, p["z1"], p, end_wall))
                return SceneObject(2, max(it.z, cam.z) - 0.01, shapes)
            if kind == "fence":
                return ob.fence(p["side"], it.x, it.z, p["z1"], p, cam.z, lod_far=self._lod(max(it.z - cam.z, 1.0)) > 0)
            return ob.hedge(p["side"], it.x, it.z, p["z1"], p, cam_pos)
        z, x = it.z, it.x
        if kind == "person":
            dz, phase, _ = walk_position(p, t)
            z = z + dz
            if not self._visible(cam, x, z):
                return None
            lod = self._lod(z - cam.z)
            if p.get("standing"):  # in place, in one pose: a function of the item and the level of detail
                return _built(it, lod, lambda: ob.person_object(x, z, p, phase, False, lod))
            return ob.person_object(x, z, p, phase, False, lod)
        if kind == "crosser":
            s = (p["t0"] + t) * abs(p["speed"]) / 14.0
            st = self.world.street
            x = st.road_left - 1 + triangle_wave(s + (x - st.road_left) / 14.0) * (st.road_right - st.road_left + 2)
            if not self._visible(cam, x, z):
                return None
            return ob.person_object(x, z, p, (p["t0"] + t) * abs(p["speed"]) * 3.5, True, self._lod(z - cam.z))
        if kind == "cross_rider":
            x = ((x + p["speed"] * t + 60.0) % 120.0) - 60.0
            if not self._visible(cam, x, z):
                return None
            return ob.rider_object(x, z, p, True, p["speed"] < 0, self._lod(z - cam.z))
        if not self._visible(cam, x, z):
            return None
        lod = self._lod(z - cam.z)
        build = _STATIC_BUILDERS.get(kind)
        if build is not None:  # a pure function of the item and its level of detail
            return _built(it, lod, lambda: build(x, z, p, lod))
        if kind == "parked":
            vp = p["p"]
            if z + vp["length"] < cam.z:
                return None
            g.extend(self._item_ground(it))
            view = ob.vehicle_view(p["kind"], x, z, vp, cam_pos, False)
            shapes = _built(it, (lod, view), lambda: ob.vehicle_shapes(p["kind"], x, z, vp, cam_pos, False, lod))
            return SceneObject(3, ob.vehicle_depth(z, vp["length"], cam.z), shapes)
        raise ValueError(f"unknown item kind {kind!r}")

    def _agent(self, a: dict, cam: Camera, cam_pos: tuple, g: list[Shape]) -> SceneObject | None:
        kind, x, z, p = a["kind"], a["x"], a["z"], a["p"]
        length = p.get("length", 2.0)
        if z + length < cam.z - 1 or not self._visible(cam, x, z, margin=length + 4):
            return None
        lod = self._lod(max(z - cam.z, 0.5))
        if kind in ("bicycle", "motorcycle"):
            return ob.rider_object(x, max(z, cam.z + 0.5), p, False, False, lod)
        g.append(ob.vehicle_shadow(x, z, p["width"], length, tuple(c * 0.45 for c in self.world.street.road_colour)))
        return ob.vehicle_object(kind, x, z, p, cam_pos, a["towards"], lod)


def _dashes(s0: float, s1: float, cam_z: float) -> tuple[float, ...]:
    """Start Z of the 3 m lane dashes (one every 9 m) to draw on the span ``s0..s1``.

    Only dashes from 4 m behind the camera to 90 m ahead of it are kept.
    """
    out = []
    if s1 <= s0:
        return ()
    z = math.ceil(s0 / 9.0) * 9.0
    while z < min(s1, cam_z + 90.0):
        if z + 3.0 > cam_z - 1.0:
            out.append(z)
        z += 9.0
    return tuple(out)


_STATIC_BUILDERS: dict[str, Callable[[float, float, dict, int], SceneObject]] = {
    "tree": ob.tree,
    "lamp": lambda x, z, p, lod: ob.street_lamp(x, z, p, p["towards"], lod),
    "sign": lambda x, z, p, lod: ob.sign_post(x, z, p, p["facing"], lod),
    "signal": lambda x, z, p, lod: ob.traffic_light_pole(x, z, p, p["facing"], lod),
    "overhead": lambda x, z, p, lod: ob.overhead_signal(x, z, p, p["heads"], True, lod),
    "parked_two_wheeler": ob.parked_two_wheeler,
}


def _built(item: Item, key: object, build: Callable[[], T]) -> T:
    """``build()`` memoised on ``item`` under ``key`` (what it builds depends on the item and key only).

    The result is shared between frames, so it must not be modified (the painter only reads).
    """
    value = item.built.get(key)
    if value is None:
        value = item.built[key] = build()
    return value


def render_scene(seed: int, size: tuple[int, int] = (256, 512)) -> tuple[np.ndarray, np.ndarray]:
    """Render one labelled street scene.

    Args:
        seed: Scene seed (int >= 0); the same seed always gives the same arrays.
        size: (height, width) in pixels.

    Returns:
        (image uint8 (H, W, 3) RGB, labels uint8 (H, W) with Cityscapes trainIds 0..18).
    """
    return StreetSequence(seed, size).render(0)
