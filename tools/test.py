"""Evaluate a checkpoint with an MMPretrain config (MMEngine Runner).

    python tools/test.py configs/resnet18_aib_8xb16_cifar10.py work_dirs/.../epoch_200.pth
    python tools/test.py CONFIG CKPT --cfg-options model.neck.mc_samples=4   # the paper's 4 x 4

The tool's code is ``aibtools.evaluate`` (importable by tests: a module named ``test`` would
shadow Python's own ``test`` package).
"""

from aibtools.evaluate import main

if __name__ == "__main__":
    main()
