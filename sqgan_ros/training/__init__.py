"""Training of SQ-GAN (Pezone et al., IEEE TCCN 2025): losses, LPIPS, discriminator, 3-stage trainer.

Never imported by the codec; imports the codec and data layers. See ``sqgan_ros.training.cli``.
"""
