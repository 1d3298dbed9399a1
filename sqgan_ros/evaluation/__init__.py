"""Evaluation of sqgan_ros against classical codecs.

Modules (import them directly; this package imports nothing heavy on its own):

- ``metrics``: PSNR, masked PSNR, MS-SSIM, mIoU, LPIPS, FID on uint8 RGB images / label maps.
- ``baselines``: still-image codecs (JPEG, JPEG 2000, WebP, AVIF, HEVC intra, AV1 intra) behind
  one ``ImageCodec`` interface, and a target-bpp quality search.
- ``baselines_video``: x264 / x265 low-latency streams through ffmpeg, with frame-loss simulation.
"""
