"""The library the tools share (``python tools/<name>.py`` puts ``tools/`` first on ``sys.path``).

- :mod:`.runs`: the one training path, a config's run settings and ``Runner.from_cfg``
  (``demo.py``, ``benchmark.py quality``).
- :mod:`.maps`: the backbone's last stage, and a test split's predictions and maps through an
  MMEngine ``Runner`` (``demo.py``, ``benchmark.py quality``, ``pointing_misses.py``,
  ``visualize_attention.py``); Grad-CAM of token backbones (ViT) through a reshaping hook.
- :mod:`.tables`: markdown tables and the mean ± standard deviation over seeds.
- :mod:`.grid`: a PNG grid of images, their maps and overlays (``demo.py``,
  ``visualize_attention.py``).
- :mod:`.targets`: whether a model meets a target against a reference model, seed by seed and
  on the means (``demo.py``, ``benchmark.py``).
- :mod:`.benchmark`: model variants, cost and speed, the quality runs across backbone families
  (configs through the Runner) and the outputs of ``benchmark.py``.
"""
