"""Bundled model files are found in a source checkout and in a colcon install layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqgan_ros import bundled_models
from sqgan_ros.bundled_models import DEFAULT_MODEL_NAME, SEGMENTER_MODEL_NAME, bundled_model_path, candidate_paths

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_ament(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundled_models, "_ament_share", lambda: None)


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_source_checkout_finds_the_repository_models(no_ament) -> None:
    assert bundled_model_path(DEFAULT_MODEL_NAME) == REPO / "models" / DEFAULT_MODEL_NAME
    assert bundled_model_path(SEGMENTER_MODEL_NAME) == REPO / "models" / SEGMENTER_MODEL_NAME


def test_colcon_install_layout_finds_share_without_an_index(tmp_path: Path, no_ament) -> None:
    package_dir = tmp_path / "install" / "lib" / "python3.11" / "site-packages" / "sqgan_ros"
    package_dir.mkdir(parents=True)
    model = _touch(tmp_path / "install" / "share" / "sqgan_ros" / "models" / SEGMENTER_MODEL_NAME)
    assert bundled_model_path(SEGMENTER_MODEL_NAME, package_dir) == model
    # the module-relative path of a source checkout would have missed it
    assert not (package_dir.parent / "models" / SEGMENTER_MODEL_NAME).exists()


def test_ament_index_serves_an_install_and_the_checkout_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ament_index_python")
    prefix = tmp_path / "ws" / "install"
    _touch(prefix / "share" / "ament_index" / "resource_index" / "packages" / "sqgan_ros")
    model = _touch(prefix / "share" / "sqgan_ros" / "models" / DEFAULT_MODEL_NAME)
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(prefix))
    checkout = tmp_path / "repo" / "sqgan_ros"
    assert bundled_model_path(DEFAULT_MODEL_NAME, checkout) == model  # found through the index
    local = _touch(checkout.parent / "models" / DEFAULT_MODEL_NAME)
    assert bundled_model_path(DEFAULT_MODEL_NAME, checkout) == local  # a checkout's own models first


def test_no_ament_prefix_path_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a sourced ROS (ament_index_python importable, AMENT_PREFIX_PATH unset) nothing raises."""
    monkeypatch.delenv("AMENT_PREFIX_PATH", raising=False)
    assert bundled_models._ament_share() is None
    assert bundled_model_path(SEGMENTER_MODEL_NAME) == REPO / "models" / SEGMENTER_MODEL_NAME
    package_dir = tmp_path / "nowhere" / "sqgan_ros"
    assert bundled_model_path("absent.safetensors", package_dir) == tmp_path / "nowhere" / "models" / "absent.safetensors"


@pytest.mark.parametrize("name", ["", "../default.safetensors", "a/b.safetensors", "..", None])
def test_names_are_plain_file_names(name) -> None:
    with pytest.raises(ValueError, match="plain file name"):
        candidate_paths(name)
