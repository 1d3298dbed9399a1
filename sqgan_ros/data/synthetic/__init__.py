"""Labelled synthetic street scenes: exact labels painted from the same geometry as the image.

Public API::

    render_scene(seed, size=(256, 512)) -> (image uint8 (H,W,3) RGB, labels uint8 (H,W) 0..18)
    StreetSequence(seed, size=(256, 512), speed=None, fps=10.0).render(index) -> (image, labels)
"""

from sqgan_ros.data.synthetic.sequence import StreetSequence, render_scene

__all__ = ["StreetSequence", "render_scene"]
