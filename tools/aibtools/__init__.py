"""The library the tools share (``python tools/<name>.py`` puts ``tools/`` first on ``sys.path``).

- :mod:`.maps`: the backbone's last stage, and a test split's predictions and maps through an
  MMEngine ``Runner`` (``demo.py``, ``pointing_misses.py``, ``visualize_attention.py``).
- :mod:`.tables`: markdown tables and the mean ± standard deviation over seeds.
- :mod:`.grid`: a PNG grid of images, their maps and overlays (``demo.py``,
  ``visualize_attention.py``).
- :mod:`.targets`: whether a model meets a target against a reference model, seed by seed and
  on the means (``demo.py``, ``benchmark.py``).
- :mod:`.benchmark`: model variants, cost and speed, quality runs and outputs of
  ``benchmark.py``.
"""
