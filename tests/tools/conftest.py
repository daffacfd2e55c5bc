"""The tool tests share the MMPretrain test helpers (``load_tool`` imports ``tools/<name>.py``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mmpretrain"))
