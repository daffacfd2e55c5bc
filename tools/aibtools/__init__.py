"""The library the tools share (``python tools/<name>.py`` puts ``tools/`` first on ``sys.path``).

- :mod:`.runs`: the one training path, a config's run settings and ``Runner.from_cfg``, and the
  one run (train, collect the test maps, score them) of ``demo.py`` and ``benchmark.py quality``.
- :mod:`.scores`: the one set of score keys and targets, the result rows of a run's maps, the
  means over seeds and the per-seed target verdicts (``demo.py``, ``benchmark.py quality``).
- :mod:`.report`: the one quality report, markdown tables and the CSV and JSON of the rows.
- :mod:`.flags`: the flags the tools share with one meaning (``--seeds``, ``--train-images``,
  ``--test-images``, ``--cfg-options``, ``--aib-options``, ``--threads``).
- :mod:`.maps`: the backbone's last stage, and a test split's predictions and maps through an
  MMEngine ``Runner`` (``demo.py``, ``benchmark.py quality``, ``pointing_misses.py``,
  ``visualize_attention.py``); Grad-CAM of token backbones (ViT) through a reshaping hook.
- :mod:`.tables`: markdown tables and the mean ± standard deviation over seeds.
- :mod:`.grid`: a PNG grid of images, their maps and overlays (``demo.py``,
  ``visualize_attention.py``).
- :mod:`.targets`: whether a model meets a target against a reference model, seed by seed and
  on the means (through :mod:`.scores`).
- :mod:`.benchmark`: model variants, cost and speed, the quality runs across backbone families
  (configs through the Runner) and the outputs only ``benchmark.py`` adds.
"""
