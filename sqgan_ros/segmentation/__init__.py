"""Semantic segmentation for the encoder: camera frame -> label map over ``sqgan_ros.labels``.

Choices (``make_segmenter(spec)``): the bundled real-time network, a user's TorchScript or ONNX
model with a class mapping, or none; labels from a ROS topic go through ``ExternalLabels``.
Training of the bundled network (a tool, not imported here): ``python -m sqgan_ros.training.segmenter``
(see README.md).
"""

from sqgan_ros.segmentation.base import ExternalLabels, NullSegmenter, Segmenter, check_image, resize_labels
from sqgan_ros.segmentation.bundled import DEFAULT_MODEL_PATH, BundledSegmenter, SegmenterFileError, load_segnet, save_segnet
from sqgan_ros.segmentation.external import OnnxSegmenter, Preprocessing, TorchScriptSegmenter, load_class_mapping
from sqgan_ros.segmentation.factory import make_segmenter
from sqgan_ros.segmentation.network import SegNet, SegNetConfig

__all__ = [
    "Segmenter", "NullSegmenter", "ExternalLabels", "BundledSegmenter", "TorchScriptSegmenter",
    "OnnxSegmenter", "Preprocessing", "SegNet", "SegNetConfig", "SegmenterFileError",
    "DEFAULT_MODEL_PATH", "make_segmenter", "load_segnet", "save_segnet", "load_class_mapping",
    "check_image", "resize_labels",
]
