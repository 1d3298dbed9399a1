"""Datasets (synthetic, Cityscapes layout, folders, unlabelled footage) and augmentation."""
