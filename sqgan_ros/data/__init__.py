"""Training data (a tool; the runtime never imports it): synthetic scenes, datasets, augmentation.

``config`` (the one DataConfig), ``training_set`` (what it builds), ``datasets`` (synthetic,
Cityscapes layout, folders, mixing), ``footage`` (real videos and photos found here), ``pool``
(pre-rendered frames), ``splits`` (seed ranges), ``synthetic`` (the street-scene renderer).
"""
