"""The synthetic generator's speed-ups keep its results exactly (16-bit facade texels: to a unit).

Covers: the cheap shape primitives against their numpy formulas (flat vertex lists, projection
with a Z floor, near-plane clipping on floats), the 16-bit facade texture copies, scalar draws that
replace ``Generator.choice`` and ``Generator.uniform`` (world and backdrop), shapes memoised on world
items (keyed by level of detail / end-wall view / vehicle view, plus their static ground shapes;
never leaking between frames or sequences), the haze's ground marker, the sky as one colour
transform (to float rounding), and determinism across processes. Not timed: speed is reported by
``python -m sqgan_ros.data.synthetic.benchmark``.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from sqgan_ros.data.synthetic import StreetSequence, render_scene, textures
from sqgan_ros.data.synthetic.geometry import NEAR, Camera, box_faces, clip_near, disc, flat_vertices, planar, quad, segment
from sqgan_ros.data.synthetic.objects import ground_quad, vehicle_depth, vehicle_object, vehicle_shapes, vehicle_view
from sqgan_ros.data.synthetic.painter import _LIMIT, _SCALE, _clip_and_project, _Grid, _haze_alpha, _rasterise, _sky, _Tables
from sqgan_ros.data.synthetic.scene import _FRONTAGE_CDF, _FRONTAGE_KINDS, Item, _choose, _uniform, vehicle_params
from sqgan_ros.data.synthetic.sequence import _STATIC_BUILDERS

SIZE = (64, 128)


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("flip", [False, True])
def test_planar_list_path_equals_array_path(flip: bool) -> None:
    rng = np.random.default_rng(0)
    pts = rng.uniform(-2, 2, (7, 2))
    as_list = [tuple(p) for p in pts.tolist()]
    x, y, z, scale = 1.3, 0.2, 17.9, 0.7
    np.testing.assert_array_equal(planar(as_list, x, y, z, scale, flip), planar(pts, x, y, z, scale, flip))
    ref = np.stack([x + (-pts[:, 0] if flip else pts[:, 0]) * scale, y + pts[:, 1] * scale, np.full(7, z)], axis=1)
    np.testing.assert_array_equal(planar(pts, x, y, z, scale, flip), ref)


def test_segment_and_quad_equal_numpy_formulas() -> None:
    rng = np.random.default_rng(1)
    for _ in range(50):
        a, b = rng.uniform(-3, 3, 2), rng.uniform(-3, 3, 2)
        width = float(rng.uniform(0.01, 0.3))
        d = b - a
        n = np.array([-d[1], d[0]]) / (np.hypot(*d) + 1e-9) * (width / 2)
        np.testing.assert_array_equal(np.array(segment(tuple(a), tuple(b), width)), np.stack([a + n, b + n, b - n, a - n]))
        o, s, t = rng.uniform(-50, 50, (3, 3))
        np.testing.assert_array_equal(quad(tuple(o), s, t.tolist()), np.stack([o, o + s, o + s + t, o + t]))


def test_flat_vertices_equal_nested_rows() -> None:
    rng = np.random.default_rng(4)
    x0, x1, y0, y1, z0, z1 = np.sort(rng.uniform(-5, 5, 6)).tolist()
    np.testing.assert_array_equal(flat_vertices(x0, y0, z0, x1, y1, z1), np.array([[x0, y0, z0], [x1, y1, z1]]))
    assert flat_vertices(1, 2, 3).dtype == np.float64
    g = ground_quad(x0, x1, z0, z1, 0, (1.0, 2.0, 3.0), 0, 0.0)
    np.testing.assert_array_equal(g.verts, np.array([[x0, 0.0, z0], [x1, 0.0, z0], [x1, 0.0, z1], [x0, 0.0, z1]]))
    faces = dict(box_faces(x0, x1, y0, y1, z0, z1, (x0 - 1.0, y1 + 1.0, z0 - 1.0)))
    assert set(faces) == {"top", "left", "near"}
    np.testing.assert_array_equal(faces["top"], np.array([[x0, y1, z0], [x1, y1, z0], [x1, y1, z1], [x0, y1, z1]]))
    np.testing.assert_array_equal(faces["left"], np.array([[x0, y0, z0], [x0, y0, z1], [x0, y1, z1], [x0, y1, z0]]))
    np.testing.assert_array_equal(faces["near"], np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0]]))


def test_projection_with_a_z_floor_is_exact_in_front_and_finite_behind() -> None:
    cam = Camera(x=0.5, height=1.4, z=10.0, focal=300.0, cx=256.0, cy=110.0, yaw=0.03)
    rng = np.random.default_rng(6)
    pts = cam.to_camera(rng.uniform([-20, 0, 0], [20, 10, 60], (200, 3)))
    front = pts[:, 2] >= NEAR
    assert front.any() and (~front).any()
    with np.errstate(divide="ignore", invalid="ignore"):
        plain = cam.project_camera(pts)
    floored = cam.project_camera(pts, min_z=NEAR)
    np.testing.assert_array_equal(floored[front], plain[front])
    assert np.isfinite(floored).all()


def test_compact_textures_are_made_once_per_texture_and_within_a_unit() -> None:
    tex = textures.facade_textures()[0]
    texels, unit = textures.compact_texture(tex)
    again, unit_again = textures.compact_texture(tex)
    assert again is texels and unit_again == unit and texels.dtype == np.uint16
    assert np.abs(texels * unit - tex).max() <= unit / 2 + 1e-6
    assert unit * 65535.0 == pytest.approx(float(tex.max()))
    twin = tex.copy()  # same values, another object: its own entry, the same texels
    twin_texels, _ = textures.compact_texture(twin)
    assert twin_texels is not texels
    np.testing.assert_array_equal(twin_texels, texels)
    for _ in range(textures.COMPACT_LIMIT + 3):  # the cache stays bounded
        textures.compact_texture(np.ones((4, 4, 3), np.float32))
    assert len(textures._compact_copies) <= textures.COMPACT_LIMIT


@pytest.mark.parametrize("n", [6, 8, 12])
def test_disc_uses_the_same_angles_as_a_fresh_linspace(n: int) -> None:
    a = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    ref = np.stack([3.0 + 0.4 * np.cos(a), 1.5 + 0.2 * np.sin(a), np.full(n, 9.0)], axis=1)
    got = disc((3.0, 1.5, 9.0), 0.4, 0.2, n)
    np.testing.assert_array_equal(got, ref)
    got[:] = 0.0  # callers own the result; the cached angles stay intact
    np.testing.assert_array_equal(disc((3.0, 1.5, 9.0), 0.4, 0.2, n), ref)


def test_choose_draws_like_generator_choice() -> None:
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    probs = [0.4, 0.12, 0.16, 0.12, 0.2]
    for _ in range(500):
        assert _choose(a, (-1.0, 1.0)) == float(b.choice([-1, 1]))
        assert _choose(a, _FRONTAGE_KINDS, _FRONTAGE_CDF[False]) == str(b.choice(list(_FRONTAGE_KINDS), p=probs))
        assert a.random() == b.random()  # both streams still in step


def test_uniform_draws_like_generator_uniform() -> None:
    a, b = np.random.default_rng(11), np.random.default_rng(11)
    bounds = np.sort(np.random.default_rng(2).uniform(-300, 300, (2000, 2)), axis=1).tolist()
    for low, high in bounds + [(0, 25.0), (90, 130), (1.58, 1.95), (3.0, 3.0)]:
        got = _uniform(a, low, high)
        assert type(got) is float and got == float(b.uniform(low, high))
        assert int(a.integers(7)) == int(b.integers(7))  # both streams still in step


def test_memoised_item_shapes_do_not_change_frames() -> None:
    """A drive rendered out of order, reusing memoised shapes, equals fresh renders of each frame."""
    shared = StreetSequence(4, SIZE, speed=12.0)
    frames = [0, 30, 5, 30, 0]
    for index in frames:
        img, lab = shared.render(index)
        fresh = StreetSequence(4, SIZE, speed=12.0).render(index)
        np.testing.assert_array_equal(img, fresh[0])
        np.testing.assert_array_equal(lab, fresh[1])
    items = [it for items, _ in shared.world._chunks.values() for it in items]
    memoised = [it for it in items if it.built]
    assert memoised, "no item memoised its shapes"
    grounds = {it.kind for it in memoised if "ground" in it.built}
    assert grounds and grounds <= {"crosswalk", "intersection", "terrain", "parked"}  # static ground shapes
    for it in memoised:
        keys = [k for k in it.built if k != "ground"]
        if it.kind in _STATIC_BUILDERS or it.kind == "person":
            assert it.kind != "person" or it.p["standing"]  # only people standing still are memoised
            assert all(isinstance(k, int) and not isinstance(k, bool) and 0 <= k <= 2 for k in keys)
        elif it.kind == "parked":
            assert all(isinstance(k, tuple) and k[0] in (0, 1, 2) for k in keys)  # (lod, view)
        elif it.kind in ("crosswalk", "intersection", "terrain"):
            assert not keys
        else:
            assert it.kind in ("building", "wall") and all(isinstance(k, bool) for k in keys)


def test_memoised_shapes_match_a_fresh_build() -> None:
    seq = StreetSequence(8, SIZE, speed=9.0)
    seq.render(3)
    checked = 0
    for items, _ in seq.world._chunks.values():
        for it in items:
            for lod, obj in it.built.items():
                if it.kind not in _STATIC_BUILDERS:
                    continue
                ref = _STATIC_BUILDERS[it.kind](it.x, it.z, it.p, lod)
                assert (obj.layer, obj.depth, len(obj.shapes)) == (ref.layer, ref.depth, len(ref.shapes))
                for a, b in zip(obj.shapes, ref.shapes):
                    np.testing.assert_array_equal(a.verts, b.verts)
                    assert (a.label, a.colour, a.material, a.amp) == (b.label, b.colour, b.material, b.amp)
                checked += 1
    assert checked > 0


@pytest.mark.parametrize("kind", ["car", "truck", "bus", "train"])
def test_vehicle_shapes_depend_on_the_camera_only_through_the_view(kind: str) -> None:
    rng = np.random.default_rng(3)
    p = vehicle_params(rng, kind)
    x, z = 4.0, 30.0
    shapes_by_view: dict = {}
    for cam_z in np.linspace(z - 20.0, z + p["length"] + 20.0, 80):
        cam = (float(rng.uniform(-3, 9)), float(rng.uniform(0.6, 2.5)), float(cam_z))
        for towards in (False, True):
            view = (towards, vehicle_view(kind, x, z, p, cam, towards))
            shapes = vehicle_shapes(kind, x, z, p, cam, towards, 0)
            obj = vehicle_object(kind, x, z, p, cam, towards, 0)
            assert obj.depth == vehicle_depth(z, p["length"], cam[2]) and len(obj.shapes) == len(shapes)
            if view in shapes_by_view:
                ref = shapes_by_view[view]
                assert len(ref) == len(shapes)
                for a, b in zip(ref, shapes):
                    np.testing.assert_array_equal(a.verts, b.verts)
                    assert (a.label, a.colour) == (b.label, b.colour)
            shapes_by_view[view] = shapes
    assert len(shapes_by_view) >= 4  # several views were seen, and each was checked again


def test_frames_are_identical_in_a_fresh_process() -> None:
    code = ("import hashlib, numpy as np\n"
            "from sqgan_ros.data.synthetic import StreetSequence, render_scene\n"
            "h = hashlib.sha256()\n"
            f"for a in (*render_scene(7, {SIZE!r}), *StreetSequence(2, {SIZE!r}, speed=8.0).render(6)):\n"
            "    h.update(np.ascontiguousarray(a).tobytes())\n"
            "print(h.hexdigest())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    here = _digest(*render_scene(7, SIZE), *StreetSequence(2, SIZE, speed=8.0).render(6))
    assert out.stdout.strip() == here


def test_ground_memo_rebuilds_when_the_dashes_change_and_matches_a_fresh_build() -> None:
    shared = StreetSequence(12, SIZE, speed=11.0)
    for index in (0, 1, 2, 9, 3, 40, 0):
        cam = shared.camera(index)
        c = int(cam.z // 50.0)  # the camera's chunk: its dashes move with the camera
        za, zb = max(c * 50.0, cam.z - 2.0) - 0.05, (c + 1) * 50.0 + 0.05
        _, inter = shared.world.chunk(c)
        memo: list = []
        shared._ground(memo, za, zb, inter, cam)
        fresh: list = []
        StreetSequence(12, SIZE, speed=11.0)._ground(fresh, za, zb, inter, cam)
        assert len(memo) == len(fresh)
        for a, b in zip(memo, fresh):
            np.testing.assert_array_equal(a.verts, b.verts)
            assert (a.label, a.colour, a.material, a.amp, a.ground) == (b.label, b.colour, b.material, b.amp, b.ground)
    assert 1 < len(shared._ground_memo) <= 64


def _clip_near_rows(cam_pts: np.ndarray, near: float = NEAR) -> np.ndarray:
    """The original Sutherland-Hodgman clip on numpy rows (the reference for the float version)."""
    out = []
    n = cam_pts.shape[0]
    for i in range(n):
        a, b = cam_pts[i], cam_pts[(i + 1) % n]
        if a[2] >= near:
            out.append(a)
        if (a[2] >= near) != (b[2] >= near):
            out.append(a + (near - a[2]) / (b[2] - a[2]) * (b - a))
    return np.array(out, dtype=np.float64).reshape(-1, 3)


def test_clip_near_is_bit_identical_to_the_numpy_row_version() -> None:
    rng = np.random.default_rng(13)
    clipped = 0
    for trial in range(3000):
        n = int(rng.integers(3, 15))
        pts = rng.normal(0.0, 3.0, (n, 3)) * float(rng.choice([1e-3, 1.0, 100.0]))
        if trial % 3 == 0:  # vertices on and next to the plane
            pts[:, 2] = rng.choice([NEAR, -NEAR, np.nextafter(NEAR, 1.0), np.nextafter(NEAR, 0.0)], n)
        got, ref = clip_near(pts), _clip_near_rows(pts)
        assert got.shape == ref.shape and got.dtype == np.float64
        assert np.array_equal(got.view(np.int64), ref.view(np.int64))  # bit for bit, signed zeros too
        clipped += 0 < got.shape[0] != n
    assert clipped > 500


def test_haze_equals_a_per_pixel_choice_between_row_and_shape_depth() -> None:
    seq = StreetSequence(6, SIZE, speed=9.0)
    cam = seq.camera(4)
    shapes = [s for o in sorted(seq._objects(cam, 0.4), key=lambda o: (o.layer, -o.depth)) for s in o.shapes]
    tables = _Tables.of(shapes, seq.look)
    idmap, _ = _rasterise(shapes, cam, SIZE, tables.depth)
    ids = idmap.astype(np.intp)
    grid = _Grid.get(SIZE)
    got = _haze_alpha(ids, tables, cam, seq.look, grid)
    rows = np.arange(SIZE[0], dtype=np.float32)
    with np.errstate(divide="ignore"):
        row_depth = np.where(rows > cam.cy + 0.5, cam.focal * cam.height / np.maximum(rows - cam.cy, 0.5), 1e4)
    inv_vis = np.float32(1.0 / seq.look.visibility)
    row_alpha = np.minimum(1.0 - np.exp(-row_depth * inv_vis), 0.92).astype(np.float32)
    id_alpha = np.minimum(1.0 - np.exp(-tables.depth * inv_vis), 0.92).astype(np.float32)
    ground = tables.ground[ids]
    assert ground.any() and (~ground).any()
    np.testing.assert_array_equal(got, np.where(ground, row_alpha[:, None], id_alpha[ids]))
    assert got.min() >= 0.0  # the ground marker never leaks out


def test_sky_equals_the_per_channel_gradient_and_cloud_formula() -> None:
    seq = StreetSequence(3, SIZE)
    look, cam, grid = seq.look, seq.camera(0), _Grid.get(SIZE)
    ox, oy = 9, 4
    t = np.clip((cam.cy - np.arange(SIZE[0])) / max(cam.cy, 1.0), 0.0, 1.0)[:, None, None] ** 0.7
    cover = np.clip((grid.clouds[oy:oy + SIZE[0], ox:ox + SIZE[1]].astype(np.float64) - (1.0 - 2.0 * look.clouds) * 0.6)
                    * 2.5, 0.0, 1.0)[..., None]
    gradient = np.asarray(look.horizon) + (np.asarray(look.zenith) - np.asarray(look.horizon)) * t
    ref = gradient * (1.0 - cover) + (235 - 60 * look.overcast) * cover
    np.testing.assert_allclose(_sky(SIZE, cam, look, grid, ox, oy), ref, rtol=0, atol=2e-3)


def test_item_ground_shapes_are_built_once_and_match_a_fresh_build() -> None:
    shared = StreetSequence(10, SIZE, speed=10.0)
    for index in (0, 3, 8):
        shared.render(index)
    fresh = StreetSequence(10, SIZE, speed=10.0)
    checked = 0
    for items, _ in shared.world._chunks.values():
        for it in items:
            if "ground" not in it.built:
                continue
            memo = shared._item_ground(it)
            assert memo is it.built["ground"]  # built once, then shared
            twin = next(t for t in fresh.world.chunk(int(it.z // 50.0))[0] if (t.kind, t.x, t.z) == (it.kind, it.x, it.z))
            ref = fresh._item_ground(twin)
            assert len(memo) == len(ref) > 0
            for a, b in zip(memo, ref):
                np.testing.assert_array_equal(a.verts, b.verts)
                assert (a.label, a.colour, a.material, a.amp, a.ground) == (b.label, b.colour, b.material, b.amp, b.ground)
            checked += 1
    assert checked > 0
    with pytest.raises(ValueError):
        shared._item_ground(Item("tree", 0.0, 0.0, {}))


def test_backdrop_layout_draws_like_generator_uniform() -> None:
    seq = StreetSequence(14, SIZE)
    rng = np.random.default_rng([seq.world.seed, 5])
    cam_x = seq.cam_x
    x, ref = cam_x - 260.0, []
    while x < cam_x + 260.0:  # the layout as first written: Generator.uniform and nested rows
        wdt = float(rng.uniform(8, 30))
        hgt = float(rng.uniform(4, 30) if seq.world.street.urban else rng.uniform(3, 12))
        if rng.random() < 0.3:
            ref.append(np.array([[x, 0, 0.0], [x + wdt, 0, 0.0], [x + wdt * 0.8, hgt * 0.6, 0.0], [x + wdt * 0.2, hgt * 0.7, 0.0]]))
        else:
            col = float(rng.uniform(90, 170))
            ref.append((np.array([[x, 0, 0.0], [x + wdt, 0, 0.0], [x + wdt, hgt, 0.0], [x, hgt, 0.0]]), col))
        x += wdt
    got = seq._backdrop_layout(cam_x)
    assert len(got) == len(ref)
    for (verts, _, colour, _, _), r in zip(got, ref):
        if isinstance(r, tuple):
            r, col = r
            assert colour == (col, col, col * 1.05)
        np.testing.assert_array_equal(verts, r)


def test_disc_rows_equal_the_per_column_formula_bit_for_bit() -> None:
    rng = np.random.default_rng(21)
    for _ in range(2000):
        n = int(rng.choice([6, 8, 10, 12, 14]))
        cx, cy, cz = rng.normal(0.0, 20.0, 3).tolist()
        rx, ry = rng.uniform(0.01, 3.0, 2).tolist()
        cos, sin = np.cos(np.linspace(0.0, 2 * np.pi, n, endpoint=False)), np.sin(np.linspace(0.0, 2 * np.pi, n, endpoint=False))
        ref = np.stack([cx + rx * cos, cy + ry * sin, np.full(n, cz)], axis=1)
        got = disc((cx, cy, cz), rx, ry, n)
        assert np.array_equal(got.view(np.int64), ref.view(np.int64))


def test_clip_and_project_on_floats_equals_the_numpy_path() -> None:
    cam = Camera(x=0.3, height=1.5, z=20.0, focal=380.0, cx=256.0, cy=115.0, yaw=0.02)
    rng = np.random.default_rng(17)
    checked = 0
    for trial in range(2000):
        n = int(rng.integers(3, 13))
        pts = rng.normal(0.0, 4.0, (n, 3)) * float(rng.choice([0.01, 1.0, 50.0]))
        pts[:, 2] += float(rng.uniform(-1.0, 2.0))
        if trial % 4 == 0:
            pts[0, 2] = NEAR
        got = _clip_and_project(cam, pts)
        clipped = _clip_near_rows(pts)
        if clipped.shape[0] < 3:
            assert got is None
            continue
        uv = np.clip(cam.project_camera(clipped), -_LIMIT, _LIMIT)
        fixed, box, depth = got
        np.testing.assert_array_equal(fixed, np.round(uv * _SCALE).astype(np.int32))
        assert fixed.dtype == np.int32
        assert box == (*uv.min(axis=0).tolist(), *uv.max(axis=0).tolist())
        assert depth == float(clipped[:, 2].mean())
        checked += 1
    assert checked > 1000
