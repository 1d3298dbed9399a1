"""pip installation of the sqgan_ros library alone (codec, training, evaluation, CLIs).

For GPU training/evaluation machines without ROS: ``pip install .`` (install the torch build for
your machine first; ``pip install -c requirements/torch.txt .`` pins the CPU build this project
develops on). Importing the library never needs rclpy; ``sqgan_ros.ros`` (the nodes) does, and
``sqgan_ros.msg`` exists only in a colcon build (CMakeLists.txt), which is how ROS users install.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent


def _version() -> str:
    """Read ``__version__`` from sqgan_ros/__init__.py without importing the package."""
    for line in (HERE / "sqgan_ros" / "__init__.py").read_text(encoding="utf-8").splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise RuntimeError("sqgan_ros/__init__.py defines no __version__")


setup(
    name="sqgan_ros",
    version=_version(),
    description=(
        "SQ-GAN semantic image communication (masked vector quantization) for ROS 2 teleoperation "
        "over thin links: codec, training and evaluation library"
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["sqgan_ros", "sqgan_ros.*"]),
    package_data={"sqgan_ros": ["**/*.json", "**/*.yaml", "**/*.safetensors"]},
    install_requires=[
        "torch>=2.2",
        "numpy>=1.24",
        "opencv-python-headless>=4.8",
        "constriction>=0.4",
        "safetensors>=0.4",
        "pyyaml>=6.0",
        "tqdm>=4.60",
    ],
    extras_require={
        "test": ["pytest>=8", "pytest-timeout>=2.3", "hypothesis>=6.100"],
    },
    entry_points={
        "console_scripts": [
            "sqgan-train=sqgan_ros.training.cli:main",
            "sqgan-eval=sqgan_ros.evaluation.cli:main",
            "sqgan-bench=sqgan_ros.tools.bench.cli:main",
            "sqgan-codec=sqgan_ros.codec_cli:main",
        ],
    },
    zip_safe=False,
)
