"""Builders that turn object parameters into labelled world-space shapes.

Each builder returns a :class:`~sqgan_ros.data.synthetic.geometry.SceneObject` whose shapes are
drawn in order (painter's algorithm inside the object). Planar figures (people, riders seen from
behind or from the side, signs, trees) live in a plane of constant Z facing the camera; vehicles
and buildings are boxes with back faces culled. Far objects get fewer details (level of detail),
which keeps the renderer fast without changing what is labelled.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from sqgan_ros.data.synthetic.geometry import SceneObject, Shape, box_faces, disc, flat_vertices, planar, quad, segment, unit_circle
from sqgan_ros.data.synthetic.textures import PIXELS_PER_METRE, Material
from sqgan_ros.labels import CLASS_INDEX

ROAD = CLASS_INDEX["road"]
SIDEWALK = CLASS_INDEX["sidewalk"]
BUILDING = CLASS_INDEX["building"]
WALL = CLASS_INDEX["wall"]
FENCE = CLASS_INDEX["fence"]
POLE = CLASS_INDEX["pole"]
LIGHT = CLASS_INDEX["traffic_light"]
SIGN = CLASS_INDEX["traffic_sign"]
VEGETATION = CLASS_INDEX["vegetation"]
TERRAIN = CLASS_INDEX["terrain"]
SKY = CLASS_INDEX["sky"]
PERSON = CLASS_INDEX["person"]
RIDER = CLASS_INDEX["rider"]
CAR = CLASS_INDEX["car"]
TRUCK = CLASS_INDEX["truck"]
BUS = CLASS_INDEX["bus"]
TRAIN = CLASS_INDEX["train"]
MOTORCYCLE = CLASS_INDEX["motorcycle"]
BICYCLE = CLASS_INDEX["bicycle"]

Colour = tuple[float, float, float]
FACE_SHADE = {"top": 1.1, "left": 0.8, "right": 0.8, "near": 0.95, "far": 0.95}


def _shade(colour: Colour, k: float) -> Colour:
    return (colour[0] * k, colour[1] * k, colour[2] * k)


def ground_quad(x0: float, x1: float, z0: float, z1: float, label: int, colour: Colour,
                material: int, amp: float) -> Shape:
    """A rectangle on the ground plane (Y = 0)."""
    verts = flat_vertices(x0, 0.0, z0, x1, 0.0, z0, x1, 0.0, z1, x0, 0.0, z1)
    return Shape(verts, label, colour, material, amp, ground=True)


# ----------------------------------------------------------------------------- people, riders
def person_shapes(x: float, z: float, p: dict, phase: float, side_view: bool, label: int = PERSON,
                  y0: float = 0.0, seated: bool = False, lod: int = 0) -> list[Shape]:
    """A walking (or seated) person in the plane Z = z.

    Args:
        x: Lateral ground position (world X, m).
        z: Position along the street (world Z, m); the person is drawn in this plane.
        p: Appearance: ``height``, ``top``, ``bottom``, ``skin``, ``hair`` colours, ``bag``.
        phase: Gait phase (radians).
        side_view: Seen from the side (legs swing) rather than from front/back.
        label: PERSON or RIDER.
        y0: Height of the feet (riders sit on their vehicle).
        seated: Legs bent forward (riders).
        lod: 0 full detail, 1 reduced, 2 silhouette only.
    """
    h = p["height"]
    mat = Material.FABRIC
    hip, shoulder = y0 + 0.5 * h, y0 + 0.8 * h
    if seated:
        hip, shoulder = y0 + 0.0, y0 + 0.33 * h
    head_y = shoulder + 0.12 * h
    shapes: list[Shape] = []
    if lod >= 2:
        body = [(-0.12 * h, y0 if not seated else y0 - 0.3 * h), (0.12 * h, y0 if not seated else y0 - 0.3 * h),
                (0.1 * h, shoulder), (-0.1 * h, shoulder)]
        shapes.append(Shape(planar(body, x, 0.0, z), label, p["top"], mat, 0.1))
        shapes.append(Shape(disc((x, head_y, z), 0.065 * h, 0.075 * h, 6), label, p["skin"]))
        return shapes
    leg_w = 0.075 * h
    if side_view and not seated:  # sine of the swing angle 0.35 sin(phase), as a Python float
        swing_sin = float(np.sin(0.35 * np.sin(phase)))
    if seated:
        legs = [((-0.08 * h, hip), (-0.1 * h, hip - 0.45 * h)), ((0.08 * h, hip), (0.1 * h, hip - 0.45 * h))]
    elif side_view:
        leg_len = hip - y0
        legs = [((0.0, hip), (leg_len * swing_sin, y0)), ((0.0, hip), (-leg_len * swing_sin, y0))]
    else:
        bob = 0.02 * h * float(np.cos(phase))
        legs = [((-0.06 * h, hip), (-0.07 * h - bob, y0)), ((0.06 * h, hip), (0.07 * h + bob, y0))]
    for a, b in legs:
        shapes.append(Shape(planar(segment(a, b, leg_w), x, 0.0, z), label, p["bottom"], mat, 0.1))
    tw = 0.14 * h if side_view else 0.25 * h
    torso = [(-tw / 2, hip - 0.02 * h), (tw / 2, hip - 0.02 * h), (tw / 2 + 0.01 * h, shoulder), (-tw / 2 - 0.01 * h, shoulder)]
    shapes.append(Shape(planar(torso, x, 0.0, z), label, p["top"], mat, 0.12))
    if lod == 0:
        arm_w = 0.055 * h
        if side_view and not seated:
            arms = [((0.0, shoulder - 0.02 * h), (-0.3 * h * swing_sin, shoulder - 0.33 * h))]
        elif seated:
            arms = [((-tw / 2, shoulder - 0.02 * h), (-tw / 2 - 0.02 * h, shoulder - 0.3 * h)),
                    ((tw / 2, shoulder - 0.02 * h), (tw / 2 + 0.02 * h, shoulder - 0.3 * h))]
        else:
            arms = [((-tw / 2 - 0.02 * h, shoulder - 0.02 * h), (-tw / 2 - 0.04 * h, hip - 0.03 * h)),
                    ((tw / 2 + 0.02 * h, shoulder - 0.02 * h), (tw / 2 + 0.04 * h, hip - 0.03 * h))]
        for a, b in arms:
            shapes.append(Shape(planar(segment(a, b, arm_w), x, 0.0, z), label, p["top"], mat, 0.1))
        if p.get("bag") and not seated:
            bag = [(tw / 2, hip), (tw / 2 + 0.1 * h, hip), (tw / 2 + 0.1 * h, hip + 0.15 * h), (tw / 2, hip + 0.15 * h)]
            shapes.append(Shape(planar(bag, x, 0.0, z), label, p["bag"], Material.FLAT, 0.0))
    shapes.append(Shape(disc((x, head_y, z), 0.065 * h, 0.075 * h, 10 if lod == 0 else 6), label, p["skin"]))
    if lod == 0:
        hair = disc((x, head_y + 0.03 * h, z), 0.068 * h, 0.05 * h, 8)
        shapes.append(Shape(hair, label, p["hair"]))
    return shapes


@functools.cache
def _ring(cx: float, cy: float, r: float, width: float, n: int = 12) -> tuple[tuple[tuple[float, float], ...], ...]:
    """A wheel rim as ``n`` thick segments (2-D, for :func:`planar`); built once per argument set."""
    a = np.linspace(0.0, 2 * np.pi, n + 1)
    pts = np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], axis=1)
    return tuple(tuple(segment(pts[i], pts[i + 1], width)) for i in range(n))


def two_wheeler(x: float, z: float, kind: str, p: dict, side_view: bool, flip: bool,
                lod: int) -> list[Shape]:
    """A bicycle or motorcycle in the plane Z = z (side view or seen from behind/front).

    Args:
        x: Lateral ground position (world X, m).
        z: Position along the street (world Z, m); the vehicle is drawn in this plane.
        kind: "bicycle" or "motorcycle".
        p: Appearance: ``frame`` colour.
        side_view: Side view (wheels as circles) or end view (wheels as thin ellipses).
        flip: Mirror the side view (facing left).
        lod: Level of detail.
    """
    label = BICYCLE if kind == "bicycle" else MOTORCYCLE
    frame = p["frame"]
    tyre = (25.0, 25.0, 28.0)
    shapes: list[Shape] = []
    if not side_view:
        if kind == "bicycle":
            shapes.append(Shape(disc((x, 0.34, z), 0.035, 0.34, 8), label, tyre))
            shapes.append(Shape(planar(segment((-0.02, 0.3), (0.0, 0.95), 0.05), x, 0, z), label, frame))
            shapes.append(Shape(planar(segment((-0.28, 1.0), (0.28, 1.0), 0.04), x, 0, z), label, frame))
        else:
            shapes.append(Shape(disc((x, 0.32, z), 0.07, 0.32, 8), label, tyre))
            body = [(-0.25, 0.35), (0.25, 0.35), (0.3, 0.85), (-0.3, 0.85)]
            shapes.append(Shape(planar(body, x, 0, z), label, frame, Material.FLAT, 0.0))
            shapes.append(Shape(planar(segment((-0.38, 1.05), (0.38, 1.05), 0.05), x, 0, z), label, (40.0, 40.0, 40.0)))
            if lod == 0:
                shapes.append(Shape(planar([(-0.08, 0.7), (0.08, 0.7), (0.08, 0.78), (-0.08, 0.78)], x, 0, z),
                                    label, (200.0, 20.0, 20.0)))
        return shapes
    if kind == "bicycle":
        r = 0.34
        wheels = ((-0.52, r), (0.52, r))
        if lod >= 2:
            for cx, cy in wheels:
                shapes.append(Shape(disc((x + (-cx if flip else cx), cy, z), r, r, 8), label, tyre))
            return shapes
        for cx, cy in wheels:
            for seg in _ring(cx, cy, r, 0.05, 12 if lod == 0 else 8):
                shapes.append(Shape(planar(seg, x, 0, z, flip=flip), label, tyre))
        tubes = [((-0.52, r), (-0.1, r)), ((-0.1, r), (-0.2, 0.9)), ((-0.1, r), (0.35, 0.85)),
                 ((-0.2, 0.9), (0.35, 0.85)), ((0.35, 0.85), (0.52, r)), ((-0.52, r), (-0.2, 0.9)),
                 ((0.35, 0.85), (0.32, 1.0)), ((-0.3, 0.93), (-0.1, 0.93))]
        for a, b in tubes:
            shapes.append(Shape(planar(segment(a, b, 0.045), x, 0, z, flip=flip), label, frame))
    else:
        r = 0.31
        for cx in (-0.7, 0.7):
            shapes.append(Shape(planar(disc((cx, r, 0.0), r, r, 12)[:, :2], x, 0, z, flip=flip), label, tyre))
        body = [(-0.75, 0.45), (-0.3, 0.35), (0.45, 0.4), (0.75, 0.6), (0.55, 0.95), (0.2, 0.85),
                (-0.2, 0.85), (-0.8, 0.75)]
        shapes.append(Shape(planar(body, x, 0, z, flip=flip), label, frame, Material.FLAT, 0.0))
        shapes.append(Shape(planar(segment((0.55, 0.9), (0.45, 1.15), 0.06), x, 0, z, flip=flip), label, (40.0, 40.0, 40.0)))
        shapes.append(Shape(planar([(-0.6, 0.8), (0.1, 0.82), (0.1, 0.9), (-0.55, 0.9)], x, 0, z, flip=flip),
                            label, (30.0, 30.0, 30.0)))
    return shapes


def rider_object(x: float, z: float, p: dict, side_view: bool, flip: bool, lod: int) -> SceneObject:
    """A rider on a bicycle or motorcycle (``p["vehicle"]``), rider drawn over the vehicle."""
    shapes = two_wheeler(x, z, p["vehicle"], p, side_view, flip, lod)
    seat = 0.95 if p["vehicle"] == "bicycle" else 0.9
    dx = (-0.15 if flip else 0.15) if side_view else 0.0
    shapes += person_shapes(x + dx, z, p, 0.0, side_view, RIDER, y0=seat, seated=True, lod=lod)
    if p["vehicle"] == "motorcycle" and lod < 2:
        head_y = seat + 0.45 * p["height"]
        shapes.append(Shape(disc((x + dx, head_y, z), 0.15, 0.14, 10), RIDER, p["helmet"]))
    return SceneObject(3, z, shapes)


def person_object(x: float, z: float, p: dict, phase: float, side_view: bool, lod: int) -> SceneObject:
    """A pedestrian."""
    return SceneObject(3, z, person_shapes(x, z, p, phase, side_view, PERSON, lod=lod))


def parked_two_wheeler(x: float, z: float, p: dict, lod: int) -> SceneObject:
    """A parked bicycle/motorcycle, perpendicular to the kerb (seen from the side)."""
    return SceneObject(3, z, two_wheeler(x, z, p["vehicle"], p, True, p["flip"], lod))


# ----------------------------------------------------------------------------- vehicles
_GLASS: Colour = (35.0, 45.0, 55.0)
_Box = tuple[float, float, float, float, float, float, Colour, int]  # x0, x1, y0, y1, z0, z1, colour, label


def _vehicle_boxes(kind: str, x: float, z: float, p: dict, towards: bool) -> list[_Box]:
    """The boxes of a vehicle (body, cabin/cargo), before ordering for the camera."""
    label = {"car": CAR, "truck": TRUCK, "bus": BUS, "train": TRAIN}[kind]
    w, length, h, col = p["width"], p["length"], p["height"], p["colour"]
    x0, x1, z1 = x - w / 2, x + w / 2, z + length
    glass = _GLASS
    boxes: list[_Box] = []
    if kind == "car":
        clear = 0.3
        boxes.append((x0, x1, clear, h * 0.62, z, z1, col, label))
        ci = length * p.get("cabin_inset", 0.22)
        front_inset = ci * (0.6 if towards else 1.4)
        back_inset = ci * (1.4 if towards else 0.6)
        boxes.append((x0 + 0.1, x1 - 0.1, h * 0.62, h, z + back_inset * 0.5 + 0.3, z1 - front_inset * 0.5 - 0.3, glass, label))
    elif kind == "truck":
        cab_l = 2.2
        cab_first = towards
        zc0, zc1 = (z, z + cab_l) if cab_first else (z1 - cab_l, z1)
        zb0, zb1 = (z + cab_l + 0.2, z1) if cab_first else (z, z1 - cab_l - 0.2)
        boxes.append((x0 - 0.05, x1 + 0.05, 0.5, h, zb0, zb1, p["cargo"], label))
        boxes.append((x0 + 0.05, x1 - 0.05, 0.5, h * 0.75, zc0, zc1, col, label))
    else:
        boxes.append((x0, x1, 0.35, h, z, z1, col, label))
    return boxes


def vehicle_depth(z: float, length: float, cam_z: float) -> float:
    """Painter's depth of a vehicle spanning ``z .. z + length`` seen from ``cam_z``."""
    return max(z - cam_z, cam_z - (z + length), 0.0) + cam_z


def vehicle_view(kind: str, x: float, z: float, p: dict, cam_pos: tuple[float, float, float],
                 towards: bool) -> tuple:
    """All that :func:`vehicle_shapes` takes from ``cam_pos``: box order and visible faces, wheel sides.

    Two camera positions with the same view give the same shapes (a memo key for parked vehicles).
    """
    cx, cy, cz = cam_pos
    boxes = _vehicle_boxes(kind, x, z, p, towards)
    order = sorted(range(len(boxes)), key=lambda i: -max(boxes[i][4] - cz, cz - boxes[i][5], 0.0))
    faces = tuple((cy > b[3], cx < b[0], cx > b[1], cz < b[4], cz > b[5]) for b in boxes)
    w, z1 = p["width"], z + p["length"]
    return tuple(order), faces, cx < x - w / 2, cx > x + w / 2, cz < z, cz > z1


def vehicle_object(kind: str, x: float, z: float, p: dict, cam_pos: tuple[float, float, float],
                   towards: bool, lod: int) -> SceneObject:
    """A car, truck, bus or tram/train as boxes, with glass, wheels and lights.

    Args:
        kind: "car" | "truck" | "bus" | "train".
        x: Centre line X (m).
        z: Rear Z of the vehicle (smallest Z) (m).
        p: Appearance: ``colour``, ``width``, ``length``, ``height`` (+ ``cargo`` for trucks).
        cam_pos: Camera position for back-face culling.
        towards: Drives towards the camera (lights at its near end are headlights).
        lod: Level of detail.
    """
    return SceneObject(3, vehicle_depth(z, p["length"], cam_pos[2]), vehicle_shapes(kind, x, z, p, cam_pos, towards, lod))


def vehicle_shapes(kind: str, x: float, z: float, p: dict, cam_pos: tuple[float, float, float],
                   towards: bool, lod: int) -> list[Shape]:
    """The shapes of :func:`vehicle_object` (same arguments)."""
    label = {"car": CAR, "truck": TRUCK, "bus": BUS, "train": TRAIN}[kind]
    w, length = p["width"], p["length"]
    x0, x1, z1 = x - w / 2, x + w / 2, z + length
    glass = _GLASS
    boxes = _vehicle_boxes(kind, x, z, p, towards)
    # draw farther box first
    cz = cam_pos[2]
    boxes.sort(key=lambda b: -max(b[4] - cz, cz - b[5], 0.0))
    shapes: list[Shape] = []
    for bx0, bx1, by0, by1, bz0, bz1, bcol, blab in boxes:
        for name, verts in box_faces(bx0, bx1, by0, by1, bz0, bz1, cam_pos):
            shapes.append(Shape(verts, blab, _shade(bcol, FACE_SHADE[name]), Material.PLASTER, 0.05))
            if lod > 0 or bcol is glass:
                continue
            if kind in ("bus", "train") and name in ("left", "right"):
                xs = verts[0, 0]
                band = quad((xs, by0 + (by1 - by0) * 0.45, bz0 + 0.8), (0, 0, bz1 - bz0 - 1.6),
                            (0, (by1 - by0) * 0.42, 0))
                shapes.append(Shape(band, blab, glass, Material.FLAT, 0.0))
                n_doors = 2 if kind == "bus" else 4
                for i in range(n_doors):
                    dz = bz0 + (i + 0.5) * (bz1 - bz0) / n_doors
                    door = quad((xs, by0 + 0.05, dz), (0, 0, 1.1), (0, (by1 - by0) * 0.85, 0))
                    shapes.append(Shape(door, blab, _shade(glass, 1.3)))
            if name in ("near", "far"):
                zf = verts[0, 2]
                if kind in ("bus", "train"):
                    win = quad((bx0 + 0.15, by0 + (by1 - by0) * 0.4, zf), (bx1 - bx0 - 0.3, 0, 0),
                               (0, (by1 - by0) * 0.5, 0))
                    shapes.append(Shape(win, blab, glass))
                front = (name == "near") == towards
                lamp = (250.0, 245.0, 220.0) if front else (200.0, 20.0, 15.0)
                ly = by0 + (0.15 if kind == "car" else 0.1)
                for lx in (bx0 + 0.08, bx1 - 0.35):
                    shapes.append(Shape(quad((lx, ly, zf), (0.27, 0, 0), (0, 0.15, 0)), blab, lamp))
                if kind == "car":
                    plate = quad(((bx0 + bx1) / 2 - 0.26, ly - 0.02, zf), (0.52, 0, 0), (0, 0.12, 0))
                    shapes.append(Shape(plate, blab, (230.0, 230.0, 225.0)))
    # wheels: on the visible side face, and dark gaps under the end face
    r = 0.33 if kind == "car" else 0.5
    side_x = x0 if cam_pos[0] < x0 else (x1 if cam_pos[0] > x1 else None)
    tyre = (22.0, 22.0, 24.0)
    axles = (z + 0.8 * r + 0.3, z1 - 0.8 * r - 0.3) if kind != "train" else (z + 2.0, z + 4.0, z1 - 4.0, z1 - 2.0)
    if side_x is not None and lod < 2:
        heights, offsets = _wheel_profile(r)
        for az in axles:
            pts = np.empty((10, 3))
            pts[:, 0] = side_x
            pts[:, 1] = heights
            pts[:, 2] = az + offsets
            shapes.insert(0, Shape(pts, label, tyre))
    zf = z if cam_pos[2] < z else (z1 if cam_pos[2] > z1 else None)
    if zf is not None:
        clear = 0.3 if kind == "car" else 0.5
        for wx in (x0 + 0.05, x1 - 0.3):
            shapes.insert(0, Shape(quad((wx, 0.0, zf + (0.6 if zf == z else -0.6)), (0.25, 0, 0), (0, clear + 0.05, 0)),
                                   label, tyre))
    return shapes


@functools.cache
def _wheel_profile(r: float) -> tuple[np.ndarray, np.ndarray]:
    """A side-view wheel of radius ``r`` on the ground: (heights ``r + r sin``, offsets along Z ``r cos``).

    Computed once per radius (read-only), with the same operations as per wheel.
    """
    cos, sin = unit_circle(10)
    heights, offsets = r + r * sin, r * cos
    heights.setflags(write=False)
    offsets.setflags(write=False)
    return heights, offsets


def vehicle_shadow(x: float, z: float, width: float, length: float, shade: Colour) -> Shape:
    """A soft-edged shadow on the road under a vehicle (image only; labelled road)."""
    return ground_quad(x - width / 2 - 0.15, x + width / 2 + 0.15, z - 0.3, z + length + 0.3, ROAD,
                       shade, Material.ASPHALT, 0.1)


# ----------------------------------------------------------------------------- street furniture
def pole_shape(x: float, z: float, y0: float, y1: float, width: float, colour: Colour) -> Shape:
    """A vertical pole (planar)."""
    return Shape(planar([(-width / 2, y0), (width / 2, y0), (width / 2, y1), (-width / 2, y1)], x, 0, z),
                 POLE, colour, Material.FLAT, 0.0)


def street_lamp(x: float, z: float, p: dict, towards_road: float, lod: int) -> SceneObject:
    """A street lamp: pole with an arm over the road (all labelled pole)."""
    h = p["height"]
    col = p["colour"]
    shapes = [pole_shape(x, z, 0.0, h, 0.18, col)]
    if lod < 2:
        arm = segment((0.0, h - 0.2), (towards_road * p["arm"], h + 0.2), 0.1)
        shapes.append(Shape(planar(arm, x, 0, z), POLE, col))
        head = [(towards_road * p["arm"] - 0.35, h + 0.1), (towards_road * p["arm"] + 0.35, h + 0.1),
                (towards_road * p["arm"] + 0.25, h + 0.3), (towards_road * p["arm"] - 0.25, h + 0.3)]
        shapes.append(Shape(planar(head, x, 0, z), POLE, _shade(col, 0.7)))
    return SceneObject(3, z, shapes)


def traffic_light_housing(x: float, y_top: float, z: float, facing: bool, state: int,
                          lod: int, colour: Colour = (30.0, 32.0, 30.0)) -> list[Shape]:
    """A 3-lamp signal head (traffic_light) hanging from ``y_top`` at (x, z)."""
    w, h = 0.34, 0.95
    shapes = [Shape(planar([(-w / 2, -h), (w / 2, -h), (w / 2, 0), (-w / 2, 0)], x, y_top, z), LIGHT, colour)]
    if facing and lod == 0:
        lamps = ((255.0, 40.0, 30.0), (255.0, 190.0, 30.0), (60.0, 255.0, 120.0))
        for i, lit in enumerate(lamps):
            c = lit if i == state else _shade(lit, 0.18)
            shapes.append(Shape(disc((x, y_top - 0.17 - i * 0.3, z), 0.1, 0.1, 8), LIGHT, c))
    return shapes


def traffic_light_pole(x: float, z: float, p: dict, facing: bool, lod: int) -> SceneObject:
    """A signal on its own pole at the kerb (pole + traffic_light), optionally two heads."""
    h = p["height"]
    shapes = [pole_shape(x, z, 0.0, h, 0.14, p["pole_colour"])]
    shapes += traffic_light_housing(x, h + 0.1, z, facing, p["state"], lod)
    if p.get("ped_signal") and lod < 2:
        shapes.append(Shape(planar([(-0.15, 0), (0.15, 0), (0.15, 0.45), (-0.15, 0.45)], x + 0.1, 2.0, z - 0.01),
                            LIGHT, (35.0, 35.0, 35.0)))
    return SceneObject(3, z, shapes)


def overhead_signal(x_pole: float, z: float, p: dict, x_heads: list[float], facing: bool, lod: int) -> SceneObject:
    """A mast arm reaching over the road with signal heads hanging above the lanes."""
    h = p["height"]
    shapes = [pole_shape(x_pole, z, 0.0, h, 0.25, p["pole_colour"])]
    x_far = min(x_heads + [x_pole]), max(x_heads + [x_pole])
    arm = [(x_far[0] - x_pole - 0.3, h - 0.25), (x_far[1] - x_pole + 0.3, h - 0.25),
           (x_far[1] - x_pole + 0.3, h - 0.05), (x_far[0] - x_pole - 0.3, h - 0.05)]
    shapes.append(Shape(planar(arm, x_pole, 0, z), POLE, p["pole_colour"]))
    for xh in x_heads:
        shapes += traffic_light_housing(xh, h - 0.25, z - 0.01, facing, p["state"], lod)
    return SceneObject(3, z, shapes)


def sign_plate(x: float, yc: float, z: float, shape: str, size: float, colours: tuple[Colour, Colour],
               facing: bool, lod: int) -> list[Shape]:
    """A traffic sign plate (traffic_sign): circle, triangle, square, octagon, diamond or rect."""
    s = size
    if shape == "circle":
        outline = disc((0, 0, 0), s, s, 14)[:, :2]
    elif shape == "triangle":
        outline = np.array([(-s, -0.6 * s), (s, -0.6 * s), (0, 1.1 * s)])
    elif shape == "triangle_down":
        outline = np.array([(-s, 0.6 * s), (s, 0.6 * s), (0, -1.1 * s)])
    elif shape == "octagon":
        outline = disc((0, 0, 0), s, s, 8)[:, :2] @ np.array([[np.cos(np.pi / 8), np.sin(np.pi / 8)],
                                                             [-np.sin(np.pi / 8), np.cos(np.pi / 8)]])
    elif shape == "diamond":
        outline = np.array([(0, -s), (s, 0), (0, s), (-s, 0)])
    elif shape == "rect":
        outline = np.array([(-1.6 * s, -0.8 * s), (1.6 * s, -0.8 * s), (1.6 * s, 0.8 * s), (-1.6 * s, 0.8 * s)])
    else:
        outline = np.array([(-s, -s), (s, -s), (s, s), (-s, s)])
    if not facing:
        return [Shape(planar(outline, x, yc, z), SIGN, (120.0, 122.0, 125.0), Material.PLASTER, 0.1)]
    shapes = [Shape(planar(outline, x, yc, z), SIGN, colours[0])]
    if lod == 0:
        inner = outline * (0.72 if shape != "rect" else 0.85)
        if shape in ("triangle", "triangle_down"):
            inner = inner * 0.85 + np.array([0, 0.05 * s if shape == "triangle" else -0.05 * s])
        shapes.append(Shape(planar(inner, x, yc, z), SIGN, colours[1]))
        if shape in ("circle", "square", "rect") and colours[1] != colours[0]:
            bar = np.array([(-0.5 * s, -0.12 * s), (0.5 * s, -0.12 * s), (0.5 * s, 0.12 * s), (-0.5 * s, 0.12 * s)])
            shapes.append(Shape(planar(bar, x, yc, z), SIGN, colours[0]))
    return shapes


def sign_post(x: float, z: float, p: dict, facing: bool, lod: int) -> SceneObject:
    """One or two signs on a pole."""
    h = p["height"]
    shapes = [pole_shape(x, z, 0.0, h + p["size"], 0.08, p["pole_colour"])]
    for i, (shape, size, cols) in enumerate(p["plates"]):
        shapes += sign_plate(x, h - i * (2.3 * size + 0.1), z - 0.01, shape, size, cols, facing, lod)
    return SceneObject(3, z, shapes)


def tree(x: float, z: float, p: dict, lod: int) -> SceneObject:
    """A tree: trunk and irregular crown (both vegetation, as in Cityscapes)."""
    th = p["trunk_height"]
    shapes = [Shape(planar([(-p["trunk_w"] / 2, 0), (p["trunk_w"] / 2, 0), (p["trunk_w"] / 3, th + 0.5),
                            (-p["trunk_w"] / 3, th + 0.5)], x, 0, z), VEGETATION, p["trunk_colour"], Material.FOLIAGE, 0.15)]
    for (dx, dy, r, radii), col in zip(p["blobs"], p["crown_colours"]):
        n = len(radii) if lod == 0 else 8
        cos, sin = unit_circle(n)
        rr = np.asarray(radii[:n]) * r
        verts = np.empty((n, 3))  # the crown outline placed with planar(outline, x, 0, z), written in place
        verts[:, 0] = x + (dx + rr * cos)
        verts[:, 1] = th + dy + rr * sin * 0.85
        verts[:, 2] = z
        shapes.append(Shape(verts, VEGETATION, col, Material.FOLIAGE, 0.35))
    return SceneObject(3, z, shapes)


# ----------------------------------------------------------------------------- frontage
def textured_face(verts_origin: tuple, axis_s: tuple, axis_t: tuple, label: int, tint: Colour,
                  texture: np.ndarray, offset_m: float, material: int = Material.PHOTO, amp: float = 0.06) -> Shape:
    """A vertical quad that gets a facade/wall texture warped onto it in perspective."""
    verts = quad(verts_origin, axis_s, axis_t)
    ms = math.sqrt(sum(float(v) * float(v) for v in axis_s))
    mt = math.sqrt(sum(float(v) * float(v) for v in axis_t))
    return Shape(verts, label, tint, material, amp,
                 texture=(texture, np.asarray(verts_origin, float), np.asarray(axis_s, float),
                          np.asarray(axis_t, float), ms, mt, offset_m * PIXELS_PER_METRE))


def building(side: int, x_face: float, z0: float, z1: float, p: dict, cam_z: float) -> SceneObject:
    """A building block: facade toward the road and the end wall facing the camera."""
    return SceneObject(2, max(z0, cam_z), building_shapes(side, x_face, z0, z1, p, cam_z < z0))


def building_shapes(side: int, x_face: float, z0: float, z1: float, p: dict, end_wall: bool) -> list[Shape]:
    """Shapes of :func:`building`; ``end_wall``: the camera is before ``z0`` and sees that wall."""
    h, depth = p["height"], p["depth"]
    tex, tint = p["texture"], p["tint"]
    shapes = []
    if end_wall:
        shapes.append(textured_face((x_face, 0.0, z0), (side * depth, 0.0, 0.0), (0.0, h, 0.0), BUILDING,
                                    _shade(tint, 0.75), tex, p["offset"] + 20.0))
    shapes.append(textured_face((x_face, 0.0, z0), (0.0, 0.0, z1 - z0), (0.0, h, 0.0), BUILDING,
                                tint, tex, p["offset"]))
    if p.get("roof"):
        roof = quad((x_face, h, z0), (0, 0, z1 - z0), (side * 0.6, 0.9, 0))
        shapes.append(Shape(roof, BUILDING, p["roof"], Material.STRIPES, 0.15))
    return shapes


def wall(side: int, x_face: float, z0: float, z1: float, p: dict, cam_z: float) -> SceneObject:
    """A free-standing wall along the frontage (textured)."""
    return SceneObject(2, max(z0, cam_z) - 0.01, wall_shapes(side, x_face, z0, z1, p, cam_z < z0))


def wall_shapes(side: int, x_face: float, z0: float, z1: float, p: dict, end_wall: bool) -> list[Shape]:
    """Shapes of :func:`wall`; ``end_wall``: the camera is before ``z0`` and sees that end."""
    h, t = p["height"], 0.3
    shapes = []
    if end_wall:
        shapes.append(textured_face((x_face, 0, z0), (side * t, 0, 0), (0, h, 0), WALL, _shade(p["tint"], 0.8),
                                    p["texture"], 0.0))
    shapes.append(Shape(quad((x_face, h, z0), (0, 0, z1 - z0), (side * t, 0, 0)), WALL, _shade(p["tint"], 1.1)))
    shapes.append(textured_face((x_face, 0, z0), (0, 0, z1 - z0), (0, h, 0), WALL, p["tint"], p["texture"], p["offset"]))
    return shapes


def fence(side: int, x_face: float, z0: float, z1: float, p: dict, cam_z: float, lod_far: bool) -> SceneObject:
    """A fence: lattice panel with posts (fence)."""
    h = p["height"]
    col = p["colour"]
    shapes = [Shape(quad((x_face, 0.0, z0), (0, 0, z1 - z0), (0, h, 0)), FENCE, col, Material.LATTICE, 0.45)]
    if not lod_far:
        for zp in np.arange(z0, z1 + 1e-6, p["spacing"]):
            if zp > cam_z + 0.5:
                shapes.append(Shape(planar([(-0.06, 0), (0.06, 0), (0.06, h + 0.1), (-0.06, h + 0.1)], x_face, 0, zp),
                                    FENCE, _shade(col, 0.6)))
    return SceneObject(2, max(z0, cam_z) - 0.02, shapes)


def hedge(side: int, x_face: float, z0: float, z1: float, p: dict, cam_pos: tuple) -> SceneObject:
    """A hedge/bush row (vegetation box)."""
    shapes = []
    xs = sorted((x_face, x_face + side * p["thick"]))
    for name, verts in box_faces(xs[0], xs[1], 0.0, p["height"], z0, z1, cam_pos):
        shapes.append(Shape(verts, VEGETATION, _shade(p["colour"], FACE_SHADE[name]), Material.FOLIAGE, 0.4))
    return SceneObject(2, max(z0, cam_pos[2]) - 0.03, shapes)
