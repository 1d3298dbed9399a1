"""Pre-rendered synthetic sequences: exact replay of the generator, atomic and versioned folders,
and the camera source / graph runner using them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sqgan_ros.data.synthetic import StreetSequence
from sqgan_ros.data.synthetic.sequence_cache import (
    CACHE_ENV,
    SequenceCache,
    cache_path,
    default_cache_dir,
    find_cache,
    generator_version,
    render_sequence_cache,
)
from sqgan_ros.ros.frame_sources import SyntheticSource, open_source
from sqgan_ros.ros.graph_plan import GraphOptions, graph_plan, is_synthetic

SIZE = (32, 64)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> SequenceCache:
    return render_sequence_cache(3, SIZE, 5, tmp_path_factory.mktemp("seq"), workers=2)


def test_cached_frames_equal_the_generator(cache: SequenceCache) -> None:
    sequence = StreetSequence(3, size=SIZE)
    assert len(cache) == 5 and cache.seed == 3
    for i in range(5):
        image, labels = cache.frame(i)
        ref_image, ref_labels = sequence.render(i)
        assert np.array_equal(image, ref_image) and np.array_equal(labels, ref_labels)
    assert np.array_equal(cache.frame(7)[0], cache.frame(2)[0])  # loops


def test_rendering_again_reuses_the_folder(cache: SequenceCache) -> None:
    stamp = (cache.path / "images.npy").stat().st_mtime_ns
    again = render_sequence_cache(3, SIZE, 5, cache.path.parent, workers=1)
    assert again.path == cache.path and (cache.path / "images.npy").stat().st_mtime_ns == stamp
    assert not [p for p in cache.path.parent.iterdir() if ".tmp" in p.name]


def test_folder_name_carries_the_generator_version(tmp_path: Path) -> None:
    path = cache_path(0, (256, 512), 200, tmp_path)
    assert path.parent == tmp_path and path.name.endswith(generator_version()[:12])
    assert "s0_256x512_n200" in path.name


def test_incomplete_or_foreign_folders_are_not_replayed(tmp_path: Path, cache: SequenceCache) -> None:
    assert find_cache(3, SIZE, 6, cache.path.parent) is None  # other length
    broken = cache_path(4, SIZE, 2, tmp_path)
    broken.mkdir(parents=True)
    np.save(broken / "images.npy", np.zeros((2, *SIZE, 3), np.uint8))
    assert find_cache(4, SIZE, 2, tmp_path) is None  # no labels, no meta
    with pytest.raises(ValueError, match="not a complete"):
        SequenceCache.open(broken)
    fixed = render_sequence_cache(4, SIZE, 2, tmp_path, workers=1)  # replaces the broken folder
    assert len(fixed) == 2
    meta = json.loads((fixed.path / "meta.json").read_text())
    meta["generator"] = "0" * 64
    (fixed.path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="of this generator"):
        SequenceCache.open(fixed.path)


@pytest.mark.parametrize("bad", [dict(seed=-1), dict(frames=0), dict(size=(8, 64)), dict(frames=True)])
def test_bad_cache_arguments_are_refused(tmp_path: Path, bad: dict) -> None:
    args = dict(seed=0, size=SIZE, frames=2) | bad
    with pytest.raises(ValueError):
        render_sequence_cache(args["seed"], args["size"], args["frames"], tmp_path, workers=1)


def test_default_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x"
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "sqgan_ros"


def test_synthetic_source_replays_the_cache_or_renders_live(cache: SequenceCache) -> None:
    with open_source("synthetic:3", size=SIZE, cache_frames=5, cache_dir=cache.path.parent) as source:
        assert isinstance(source, SyntheticSource) and source.cached
        frames = [source.read() for _ in range(6)]
    assert "replaying 5 cached frames" in repr(source)
    assert np.array_equal(frames[5].image, frames[0].image)  # the loop wraps
    assert np.array_equal(frames[1].labels, cache.frame(1)[1]) and frames[5].index == 5
    with open_source("synthetic:3", size=SIZE, cache_frames=9, cache_dir=cache.path.parent) as live:
        assert not live.cached
        assert np.array_equal(live.read().image, cache.frame(0)[0])  # the same frames, rendered


def test_graph_plan_asks_synthetic_cameras_for_the_cached_loop() -> None:
    assert is_synthetic("synthetic") and is_synthetic("synthetic:12") and not is_synthetic("synthetic.avi")
    cam = next(p for p in graph_plan(GraphOptions(synthetic_cache_frames=123)) if p.name == "camera_source")
    assert cam.overrides["synthetic_cache_frames"] == 123
    cam = next(p for p in graph_plan(GraphOptions(source="pattern")) if p.name == "camera_source")
    assert "synthetic_cache_frames" not in cam.overrides
