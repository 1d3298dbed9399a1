"""Evaluation of sqgan_ros against classical codecs.

Modules (import them directly; this package imports nothing heavy on its own):

- ``metrics``: PSNR, masked PSNR, MS-SSIM, mIoU, LPIPS on uint8 RGB images / label maps; ``fid``: FID.
- ``baselines``: still-image codecs (JPEG, JPEG 2000, WebP, AVIF, HEVC intra, AV1 intra) behind
  one ``ImageCodec`` interface (``baselines_common``; ffmpeg in ``baselines_ffmpeg``), and a
  target-bpp quality search.
- ``baselines_video``: x264 / x265 low-latency streams through ffmpeg, with frame-loss simulation.
- ``sweep`` (``sweep_config``, ``eval_sets``, ``sweep_points``, ``scorer``): the rate-quality sweep;
  ``run`` / ``cli``: ``sqgan-eval``; ``video``: the video evaluator (intra / INTER / x264 / x265).
"""
