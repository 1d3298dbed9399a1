"""Procedural street worlds: layout sampling, static content in chunks, moving traffic.

A :class:`StreetWorld` is fixed by its seed. The street runs along +Z; its cross-section
(lanes, parking, sidewalks, tram tracks) and its style (urban/suburban, palette) are drawn once.
Static content (buildings, walls, fences, hedges, trees, poles, signs, signals, parked vehicles,
pedestrians walking to and fro) is generated lazily in chunks of ``CHUNK`` metres, each from its own
``numpy`` generator seeded by ``(seed, chunk)``, so any frame can be rendered in any order. Moving
traffic lives in lanes at constant lane speeds and wraps around a window that follows the camera
(far behind it to far ahead), so vehicles never collide and never pop in near the camera.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sqgan_ros.data.synthetic.textures import facade_textures, wall_textures

CHUNK = 50.0
TRAFFIC_WINDOW = (-25.0, 215.0)  # metres relative to the camera where traffic lives


def _uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """``float(rng.uniform(low, high))`` for ``low <= high``, at a third of the cost.

    ``Generator.uniform`` returns ``low + (high - low) * next_double``; ``rng.random()`` is that
    same ``next_double``, so the draw, the value and the generator's state afterwards are the
    same (checked in test_synthetic_speedups.py).
    """
    return low + (high - low) * rng.random()


def _clip255(v: float) -> float:
    """``v`` clipped to [0, 255], as a Python float."""
    v = float(v)
    return v if 0.0 <= v <= 255.0 else (0.0 if v < 0.0 else 255.0)


def _colour(rng: np.random.Generator, lo: float, hi: float, tint: float = 0.1) -> tuple[float, float, float]:
    base = _uniform(rng, lo, hi)
    t0, t1, t2 = rng.uniform(-tint, tint, 3).tolist()
    return _clip255(base * (1 + t0)), _clip255(base * (1 + t1)), _clip255(base * (1 + t2))


_CAR_COLOURS = np.array([(200, 200, 205), (30, 30, 35), (120, 122, 128), (160, 20, 25), (20, 50, 120),
                         (230, 230, 230), (60, 80, 60), (180, 150, 90), (90, 30, 30), (40, 90, 160)], float)
_CLOTHES = np.array([(30, 30, 40), (200, 200, 200), (150, 30, 40), (40, 60, 130), (90, 90, 90), (200, 170, 60),
                     (60, 110, 60), (120, 80, 50), (230, 120, 50), (20, 20, 20), (180, 90, 150)], float)
_SKIN = np.array([(240, 200, 170), (210, 160, 120), (160, 110, 75), (100, 65, 40)], float)


_Rows = Sequence[Sequence[float]]


def _rows(table: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(row) for row in np.asarray(table, float).tolist())


# the colour tables as Python rows (what _pick reads; no numpy round trip per draw)
_CAR_ROWS = _rows(_CAR_COLOURS)
_CLOTHES_ROWS = _rows(_CLOTHES)
_BOTTOM_ROWS = _rows(_CLOTHES[[0, 3, 4, 9, 7]])
_HAIR_ROWS = _rows(_CLOTHES[[0, 7, 9, 5]])
_SKIN_ROWS = _rows(_SKIN)
_BUS_ROWS = ((230.0, 200.0, 30.0), (200.0, 30.0, 30.0), (30.0, 90.0, 170.0), (240.0, 240.0, 240.0), (40.0, 140.0, 60.0))
_TRAIN_ROWS = ((220.0, 220.0, 215.0), (200.0, 40.0, 40.0), (240.0, 200.0, 40.0), (60.0, 120.0, 180.0))


def _pick(rng: np.random.Generator, table: np.ndarray | _Rows, jitter: float = 0.12) -> tuple[float, float, float]:
    """A random row of ``table`` (RGB rows) scaled by a random factor in 1 +- ``jitter``, clipped to 0..255."""
    r, g, b = table[int(rng.integers(len(table)))]
    scale = _uniform(rng, 1 - jitter, 1 + jitter)
    return _clip255(r * scale), _clip255(g * scale), _clip255(b * scale)


def _choose(rng: np.random.Generator, options: Sequence, cdf: Sequence[float] | None = None):
    """``rng.choice(options[, p])`` for a scalar draw, without its overhead: the same draws, the same result.

    Args:
        rng: Generator (one ``integers(0, n)`` draw, or one ``random()`` draw when ``cdf`` is given).
        options: The options.
        cdf: Cumulative probabilities normalised to end at 1 (see :func:`_cdf`), or None for uniform.
    """
    if cdf is None:
        return options[int(rng.integers(0, len(options)))]
    return options[bisect.bisect_right(cdf, rng.random())]


def _cdf(p: Sequence[float]) -> tuple[float, ...]:
    """Cumulative probabilities exactly as ``Generator.choice`` computes them."""
    c = np.asarray(p, np.float64).cumsum()
    c /= c[-1]
    return tuple(c.tolist())


_SIGNS = (-1.0, 1.0)
_FRONTAGE_KINDS = ("building", "wall", "fence", "hedge", "park")
_FRONTAGE_CDF = {True: _cdf([0.78, 0.07, 0.05, 0.04, 0.06]), False: _cdf([0.4, 0.12, 0.16, 0.12, 0.2])}
_PLATE_SHAPES = ("circle", "circle", "triangle", "square", "octagon", "diamond", "rect", "triangle_down")


def person_params(rng: np.random.Generator, child: bool = False) -> dict:
    """Appearance of a person."""
    return {
        "height": float(_uniform(rng, 1.1, 1.4) if child else _uniform(rng, 1.58, 1.95)),
        "top": _pick(rng, _CLOTHES_ROWS), "bottom": _pick(rng, _BOTTOM_ROWS),
        "skin": _pick(rng, _SKIN_ROWS, 0.05), "hair": _pick(rng, _HAIR_ROWS),
        "bag": _pick(rng, _CLOTHES_ROWS) if rng.random() < 0.3 else None,
    }


def rider_params(rng: np.random.Generator, vehicle: str) -> dict:
    """Appearance of a rider with their bicycle/motorcycle."""
    p = person_params(rng)
    p.update(vehicle=vehicle, frame=_pick(rng, _CAR_ROWS), helmet=_pick(rng, _CAR_ROWS), flip=bool(rng.random() < 0.5))
    return p


def vehicle_params(rng: np.random.Generator, kind: str) -> dict:
    """Dimensions and colours of a vehicle of ``kind``."""
    if kind == "car":
        return {"width": _uniform(rng, 1.7, 1.95), "length": _uniform(rng, 3.8, 4.9),
                "height": _uniform(rng, 1.4, 1.75), "colour": _pick(rng, _CAR_ROWS),
                "cabin_inset": _uniform(rng, 0.15, 0.28)}
    if kind == "truck":
        return {"width": 2.45, "length": _uniform(rng, 7.0, 10.0), "height": _uniform(rng, 3.2, 3.9),
                "colour": _pick(rng, _CAR_ROWS), "cargo": _colour(rng, 150, 235, 0.15)}
    if kind == "bus":
        return {"width": 2.55, "length": _uniform(rng, 11.0, 13.0), "height": _uniform(rng, 3.0, 3.3),
                "colour": _pick(rng, _BUS_ROWS)}
    return {"width": 2.6, "length": _uniform(rng, 26.0, 36.0), "height": 3.4,
            "colour": _pick(rng, _TRAIN_ROWS)}


@dataclass(frozen=True)
class Street:
    """Cross-section and style of a street (metres; X = 0 is the centre line)."""

    lane_w: float
    n_same: int
    n_opp: int
    parking_right: bool
    parking_left: bool
    sidewalk_r: float
    sidewalk_l: float
    verge: float
    tram: bool
    urban: bool
    road_colour: tuple[float, float, float]
    sidewalk_colour: tuple[float, float, float]
    terrain_colour: tuple[float, float, float]
    mark_colour: tuple[float, float, float]

    @property
    def road_right(self) -> float:
        """X of the road's right kerb: the ``n_same`` lanes plus a 2.3 m parking strip if any."""
        return self.n_same * self.lane_w + (2.3 if self.parking_right else 0.0)

    @property
    def road_left(self) -> float:
        """X (negative) of the road's left kerb: the ``n_opp`` lanes plus a 2.3 m parking strip if any."""
        return -self.n_opp * self.lane_w - (2.3 if self.parking_left else 0.0)

    def frontage(self, side: int) -> float:
        """X of the back edge of the sidewalk on ``side`` (+1 right, -1 left)."""
        if side > 0:
            return self.road_right + self.verge + self.sidewalk_r
        return self.road_left - self.verge - self.sidewalk_l

    def lane_centre(self, lane: int) -> float:
        """Lane centres: lanes 0..n_same-1 go with the camera, -1..-n_opp come towards it."""
        return (lane + 0.5) * self.lane_w


def sample_street(rng: np.random.Generator) -> Street:
    """Draw a street cross-section and style."""
    n = int(rng.choice([2, 2, 3, 4, 4]))
    urban = bool(rng.random() < 0.65)
    return Street(
        lane_w=_uniform(rng, 3.0, 3.6), n_same=n // 2 if n > 2 else 1, n_opp=n - (n // 2 if n > 2 else 1),
        parking_right=bool(rng.random() < 0.55), parking_left=bool(rng.random() < 0.35),
        sidewalk_r=_uniform(rng, 2.2, 5.0), sidewalk_l=_uniform(rng, 2.2, 5.0),
        verge=_uniform(rng, 1.0, 2.5) if rng.random() < (0.2 if urban else 0.6) else 0.0,
        tram=bool(rng.random() < 0.3), urban=urban,
        road_colour=_colour(rng, 70, 115, 0.05), sidewalk_colour=_colour(rng, 120, 175, 0.08),
        terrain_colour=(_uniform(rng, 90, 130), _uniform(rng, 120, 150), _uniform(rng, 60, 90)),
        mark_colour=(235.0, 235.0, 230.0) if rng.random() < 0.85 else (235.0, 200.0, 60.0),
    )


@dataclass
class Item:
    """One static or to-and-fro item of a chunk: ``kind`` + parameters.

    ``built`` memoises what the renderer builds from the item alone (e.g. its shapes per level
    of detail), so a drive past it builds them once; it is not part of the item's value.
    """

    kind: str
    x: float
    z: float
    p: dict
    built: dict = field(default_factory=dict, repr=False, compare=False)


class StreetWorld:
    """A deterministic street world.

    Args:
        seed: World seed; everything (layout, content, traffic) derives from it.
    """

    def __init__(self, seed: int) -> None:
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.seed = int(seed)
        rng = np.random.default_rng([self.seed, 1])
        self.street = sample_street(rng)
        self.facades = facade_textures()
        self.walls = wall_textures()
        st = self.street
        self.camera_lane = int(rng.integers(st.n_same))
        self.lane_speeds = {lane: _uniform(rng, 6.0, 14.0) for lane in range(-st.n_opp, st.n_same)}
        self.agents = self._sample_traffic(rng)
        self._chunks: dict[int, tuple[list[Item], tuple[float, float] | None]] = {}

    # ------------------------------------------------------------------ traffic
    def _sample_traffic(self, rng: np.random.Generator) -> list[dict]:
        st = self.street
        agents = []
        period = TRAFFIC_WINDOW[1] - TRAFFIC_WINDOW[0]
        tram_lane = -1 if st.tram else None
        for lane in range(-st.n_opp, st.n_same):
            towards = lane < 0
            x = st.lane_centre(lane)
            pos = _uniform(rng, 0, 25.0)
            if lane == tram_lane:
                kind = "train"
                p = vehicle_params(rng, kind)
                agents.append({"kind": kind, "lane": lane, "x": x, "d0": _uniform(rng, 0, period), "p": p, "towards": towards})
                continue
            while pos < period - 15:
                r = rng.random()
                kind = "car" if r < 0.72 else "truck" if r < 0.8 else "bus" if r < 0.86 else "motorcycle" if r < 0.93 else "bicycle"
                if kind in ("motorcycle", "bicycle"):
                    p = rider_params(rng, kind)
                    length = 2.0
                    jitter = _uniform(rng, -0.8, 0.8)
                else:
                    p = vehicle_params(rng, kind)
                    length = p["length"]
                    jitter = _uniform(rng, -0.25, 0.25)
                if lane == self.camera_lane and pos < 12:
                    pos = 12.0  # keep the camera's own lane clear right in front of it
                agents.append({"kind": kind, "lane": lane, "x": x + jitter, "d0": float(pos), "p": p, "towards": towards})
                pos += length + rng.exponential(18.0 if st.urban else 35.0) + 4.0
        return agents

    def traffic_at(self, t: float, cam_z: float, cam_speed: float) -> list[dict]:
        """Moving agents at time ``t`` with their world ``z`` (rear of the vehicle)."""
        out = []
        lo, hi = TRAFFIC_WINDOW
        period = hi - lo
        for a in self.agents:
            v = self.lane_speeds[a["lane"]] * (-1.0 if a["towards"] else 1.0)
            if a["lane"] == self.camera_lane:
                v = cam_speed
            rel = (a["d0"] + (v - cam_speed) * t - lo) % period + lo
            out.append({**a, "z": cam_z + rel, "phase": t * 6.0 + a["d0"]})
        return out

    # ------------------------------------------------------------------ static content
    def chunk(self, index: int) -> tuple[list[Item], tuple[float, float] | None]:
        """Static items of chunk ``index`` (Z in [index*CHUNK, (index+1)*CHUNK)) and its intersection."""
        cached = self._chunks.get(index)
        if cached is None:
            if len(self._chunks) > 32:
                self._chunks.pop(next(iter(self._chunks)))
            cached = self._chunks[index] = self._make_chunk(index)
        return cached

    def _make_chunk(self, index: int) -> tuple[list[Item], tuple[float, float] | None]:
        rng = np.random.default_rng([self.seed, 2, index])
        z0 = index * CHUNK
        items: list[Item] = []
        inter = None
        if rng.random() < 0.35:
            zi = z0 + _uniform(rng, 5.0, CHUNK - 20.0)
            inter = (zi, zi + _uniform(rng, 10.0, 16.0))
        crossing = None
        if inter is None and rng.random() < 0.35:
            zc = z0 + _uniform(rng, 5.0, CHUNK - 8.0)
            crossing = (zc, zc + 4.0)
            items.append(Item("crosswalk", 0.0, zc, {"z1": zc + 4.0}))
        for side in (-1, 1):
            self._frontage(rng, side, z0, z0 + CHUNK, inter, items)
            self._furniture(rng, side, z0, inter, crossing, items)
        if inter is not None:
            items.append(Item("intersection", 0.0, inter[0], {"z1": inter[1]}))
            self._intersection(rng, inter, items)
        return items, inter

    def _frontage(self, rng: np.random.Generator, side: int, z0: float, z1: float,
                  inter: tuple[float, float] | None, items: list[Item]) -> None:
        st = self.street
        xf = st.frontage(side)
        z = z0
        cdf = _FRONTAGE_CDF[st.urban]
        while z < z1:
            length = _uniform(rng, 8.0, 30.0)
            za, zb = z, min(z + length, z1 + 0.02)
            z = zb
            if inter is not None and zb > inter[0] and za < inter[1]:
                if za < inter[0]:
                    zb = inter[0]
                elif zb > inter[1]:
                    za = inter[1]
                else:
                    continue
            kind = _choose(rng, _FRONTAGE_KINDS, cdf)
            setback = _uniform(rng, 0, 4.0) if rng.random() < 0.4 else 0.0
            x = xf + side * setback
            if setback > 0 or kind in ("park", "fence", "hedge"):
                items.append(Item("terrain", x, za, {"z1": zb, "side": side, "x_face": xf}))
            if kind == "building":
                textures = self.facades
                photo = len(textures) > 10 and rng.random() < 0.3
                tex = textures[int(rng.integers(10, len(textures)))] if photo else textures[int(rng.integers(10))]
                tint = (_uniform(rng, 200, 240),) * 3 if photo else _colour(rng, 120, 235, 0.15)
                items.append(Item("building", x, za, {
                    "z1": zb, "side": side, "height": float(_uniform(rng, 8, 28) if st.urban else _uniform(rng, 5, 12)),
                    "depth": 15.0, "texture": tex, "tint": tint, "offset": _uniform(rng, 0, 30),
                    "roof": _colour(rng, 60, 120, 0.2) if (not st.urban and rng.random() < 0.5) else None}))
            elif kind == "wall":
                items.append(Item("wall", x, za, {"z1": zb, "side": side, "height": _uniform(rng, 1.0, 3.0),
                                                  "texture": self.walls[int(rng.integers(len(self.walls)))],
                                                  "tint": _colour(rng, 140, 220, 0.1), "offset": _uniform(rng, 0, 30)}))
                self._backdrop_building(rng, side, x, za, zb, items)
            elif kind == "fence":
                items.append(Item("fence", x, za, {"z1": zb, "side": side, "height": _uniform(rng, 1.0, 2.2),
                                                   "colour": _colour(rng, 60, 170, 0.1), "spacing": _uniform(rng, 2.0, 3.5)}))
                self._backdrop_building(rng, side, x, za, zb, items)
            elif kind == "hedge":
                items.append(Item("hedge", x, za, {"z1": zb, "side": side, "height": _uniform(rng, 0.8, 2.0),
                                                   "thick": 1.0, "colour": (_uniform(rng, 40, 80), _uniform(rng, 80, 120), 35.0)}))
                self._backdrop_building(rng, side, x, za, zb, items)
            else:
                for _ in range(int(rng.integers(1, 4))):
                    zt = _uniform(rng, za, zb)
                    items.append(Item("tree", x + side * _uniform(rng, 1, 6), zt, self._tree_params(rng, big=True)))
                self._backdrop_building(rng, side, x + side * 8, za, zb, items)

    def _backdrop_building(self, rng: np.random.Generator, side: int, x: float, za: float, zb: float, items: list[Item]) -> None:
        if rng.random() < 0.7:
            tex = self.facades[int(rng.integers(10))]
            items.append(Item("building", x + side * _uniform(rng, 5, 15), za, {
                "z1": zb, "side": side, "height": _uniform(rng, 6, 20), "depth": 15.0, "texture": tex,
                "tint": _colour(rng, 120, 220, 0.15), "offset": _uniform(rng, 0, 30), "roof": None}))

    def _tree_params(self, rng: np.random.Generator, big: bool = False) -> dict:
        th = float(_uniform(rng, 2.0, 4.5) if big else _uniform(rng, 1.8, 3.2))
        r = float(_uniform(rng, 1.8, 3.5) if big else _uniform(rng, 1.2, 2.4))
        blobs = []
        cols = []
        base = (_uniform(rng, 40, 90), _uniform(rng, 80, 130), _uniform(rng, 25, 55))
        for _ in range(int(rng.integers(2, 4))):
            blobs.append((float(_uniform(rng, -0.5, 0.5) * r), float(_uniform(rng, 0.3, 1.2) * r), r * _uniform(rng, 0.6, 1.0),
                          tuple(rng.uniform(0.75, 1.1, 16).tolist())))
            k = _uniform(rng, 0.8, 1.15)
            cols.append((base[0] * k, base[1] * k, base[2] * k))
        return {"trunk_height": th, "trunk_w": _uniform(rng, 0.2, 0.45), "trunk_colour": _colour(rng, 60, 100, 0.2),
                "blobs": blobs, "crown_colours": cols}

    def _sign_params(self, rng: np.random.Generator) -> dict:
        plates = []
        for _ in range(1 if rng.random() < 0.7 else 2):
            shape = _choose(rng, _PLATE_SHAPES)
            size = _uniform(rng, 0.3, 0.45)
            if shape == "circle":
                cols = ((200.0, 20.0, 25.0), (245.0, 245.0, 245.0)) if rng.random() < 0.6 else ((20.0, 70.0, 170.0), (20.0, 70.0, 170.0))
            elif shape in ("triangle", "triangle_down"):
                cols = ((200.0, 20.0, 25.0), (245.0, 245.0, 240.0))
            elif shape == "octagon":
                cols = ((200.0, 20.0, 25.0), (205.0, 25.0, 30.0))
            elif shape == "diamond":
                cols = ((245.0, 245.0, 245.0), (240.0, 200.0, 30.0))
            else:
                cols = ((20.0, 70.0, 170.0), (240.0, 240.0, 240.0)) if rng.random() < 0.5 else ((20.0, 110.0, 60.0), (20.0, 110.0, 60.0))
            plates.append((shape, size, cols))
        return {"height": _uniform(rng, 2.2, 3.0), "size": 0.45, "plates": plates,
                "pole_colour": _colour(rng, 110, 170, 0.05)}

    def _furniture(self, rng: np.random.Generator, side: int, z0: float, inter: tuple[float, float] | None,
                   crossing: tuple[float, float] | None, items: list[Item]) -> None:
        st = self.street
        kerb = st.road_right if side > 0 else st.road_left
        xf = st.frontage(side)
        sw = st.sidewalk_r if side > 0 else st.sidewalk_l
        xk = kerb + side * (st.verge + 0.5)  # furniture line just behind the kerb

        def free(z: float) -> bool:
            return inter is None or not (inter[0] - 1.0 < z < inter[1] + 1.0)

        lamp_col = _colour(rng, 80, 150, 0.05)
        for zl in np.arange(z0 + _uniform(rng, 0, 25.0), z0 + CHUNK, _uniform(rng, 22.0, 32.0)):
            if free(zl):
                items.append(Item("lamp", xk, float(zl), {"height": _uniform(rng, 6.5, 9.0), "arm": _uniform(rng, 1.0, 2.5),
                                                         "colour": lamp_col, "towards": -float(side)}))
        for _ in range(int(rng.integers(1, 4))):
            zs = z0 + _uniform(rng, 0, CHUNK)
            if free(zs):
                items.append(Item("sign", xk + side * 0.1, zs, {**self._sign_params(rng), "facing": bool(rng.random() < 0.8)}))
        n_trees = int(rng.integers(0, 3 if st.urban else 5))
        for _ in range(n_trees):
            zt = z0 + _uniform(rng, 0, CHUNK)
            if free(zt):
                x = (kerb + side * st.verge / 2) if st.verge > 0 else xk + side * 0.3
                items.append(Item("tree", x, zt, self._tree_params(rng)))
        if crossing is not None:
            items.append(Item("signal", xk, crossing[0] - 0.5, {"height": 2.8, "pole_colour": lamp_col,
                                                                "state": int(rng.integers(3)), "ped_signal": True, "facing": True}))
        n_people = int(rng.integers(2, 8 if st.urban else 5))
        for _ in range(n_people):
            zp = z0 + _uniform(rng, 0, CHUNK)
            items.append(Item("person", _uniform(rng, *sorted((xk + side * 0.4, xf - side * 0.4))) if sw > 1.0 else xk, zp, {
                **person_params(rng, child=bool(rng.random() < 0.12)), "speed": _uniform(rng, 0.7, 1.6) * _choose(rng, _SIGNS),
                "range": _uniform(rng, 3, 20), "t0": _uniform(rng, 0, 100), "standing": bool(rng.random() < 0.25)}))
        for _ in range(int(rng.integers(0, 3))):
            zb = z0 + _uniform(rng, 0, CHUNK)
            if free(zb):
                kind = "bicycle" if rng.random() < 0.65 else "motorcycle"
                p = rider_params(rng, kind)
                items.append(Item("parked_two_wheeler", xk + side * 0.6, zb, p))
        parking = st.parking_right if side > 0 else st.parking_left
        if parking:
            zc = z0 + _uniform(rng, 0, 6)
            while zc < z0 + CHUNK - 4:
                if free(zc) and free(zc + 5) and (crossing is None or not (crossing[0] - 6 < zc < crossing[1] + 1)):
                    if rng.random() < 0.7:
                        r = rng.random()
                        kind = "car" if r < 0.9 else "truck"
                        p = vehicle_params(rng, kind)
                        items.append(Item("parked", kerb - side * 1.15, zc, {"kind": kind, "p": p}))
                        zc += p["length"] + _uniform(rng, 0.6, 2.0)
                        continue
                    if rng.random() < 0.3:
                        items.append(Item("parked_two_wheeler", kerb - side * 1.0, zc + 1,
                                          {**rider_params(rng, "motorcycle"), "vehicle": "motorcycle"}))
                zc += _uniform(rng, 3.0, 6.0)

    def _intersection(self, rng: np.random.Generator, inter: tuple[float, float], items: list[Item]) -> None:
        st = self.street
        state = int(rng.integers(3))
        pole_col = _colour(rng, 60, 140, 0.05)
        for side in (-1, 1):
            kerb = st.road_right if side > 0 else st.road_left
            xk = kerb + side * (st.verge + 0.5)
            items.append(Item("signal", xk, inter[0] - 1.0, {"height": _uniform(rng, 2.6, 3.2), "pole_colour": pole_col,
                                                             "state": state, "ped_signal": True, "facing": side > 0 or rng.random() < 0.5}))
            items.append(Item("signal", xk, inter[1] + 1.0, {"height": _uniform(rng, 2.6, 3.2), "pole_colour": pole_col,
                                                             "state": state, "ped_signal": False, "facing": True}))
        if rng.random() < 0.6:
            xp = st.road_right + st.verge + 0.5
            heads = [st.lane_centre(lane) for lane in range(st.n_same)]
            items.append(Item("overhead", xp, inter[1] + 1.5, {"height": _uniform(rng, 5.5, 6.5), "pole_colour": pole_col,
                                                               "state": state, "heads": heads}))
        for _ in range(int(rng.integers(0, 5))):
            z = _uniform(rng, inter[0] - 3.5, inter[0] - 0.5)
            items.append(Item("crosser", _uniform(rng, st.road_left, st.road_right), z, {
                **person_params(rng), "speed": _uniform(rng, 0.8, 1.5) * _choose(rng, _SIGNS),
                "t0": _uniform(rng, 0, 100)}))
        if rng.random() < 0.5:
            kind = "bicycle" if rng.random() < 0.6 else "motorcycle"
            z = _uniform(rng, inter[0] + 1, inter[1] - 1)
            items.append(Item("cross_rider", _uniform(rng, -30, 30), z, {**rider_params(rng, kind),
                                                                            "speed": _uniform(rng, 3, 8) * _choose(rng, _SIGNS)}))


def triangle_wave(t: float) -> float:
    """Triangle wave in [0, 1] with period 2 (0 -> 1 -> 0)."""
    f = t % 2.0
    return f if f < 1.0 else 2.0 - f


def walk_position(p: dict, t: float) -> tuple[float, float, bool]:
    """Offset along the walk, gait phase and facing for a to-and-fro walker at time ``t``."""
    if p.get("standing"):
        return 0.0, 0.0, True
    rng_len = p["range"]
    s = (p["t0"] + t) * abs(p["speed"]) / rng_len
    pos = triangle_wave(s) * rng_len * math.copysign(1.0, p["speed"])
    return pos, (p["t0"] + t) * abs(p["speed"]) * 3.5, (s % 2.0) < 1.0
