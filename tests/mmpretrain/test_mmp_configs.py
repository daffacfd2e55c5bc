"""Every config (configs/ and the studies' projects/aib_studies/configs/) loads, builds its model
and runs a dummy batch."""

import math
import re
from pathlib import Path

import mmpretrain
import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from .mmp_helpers import CONFIGS, REPO

STUDY_CONFIGS = REPO / "projects" / "aib_studies" / "configs"
CONFIG_FILES = sorted(
    p for root in (CONFIGS, STUDY_CONFIGS) for p in root.rglob("*.py") if "_base_" not in p.parts
)
# the plain baselines (the demo's, the benchmark's): the configs without AIB in their name
PLAIN_CONFIGS = {p.name for p in CONFIG_FILES if "aib" not in p.name}


def test_the_configs_cover_the_paper_settings() -> None:
    names = {p.name for p in CONFIG_FILES}
    for base in (
        "resnet18_aib{}_8xb16_cifar10.py",
        "resnet18_aib{}_8xb16_cifar100.py",
        "wrn28-10_aib{}_8xb16_cifar10.py",
        "wrn28-10_aib{}_8xb16_cifar100.py",
        "wide-resnet50_aib{}_1xb16_cub.py",
        "vgg16-bn_aib{}_1xb128_cifar10.py",
        "resnet50_aib{}_8xb32_in1k.py",
    ):
        assert base.format("") in names and base.format("_qt") in names
    assert "timm-resnet18_aib_8xb32_in1k.py" in names  # through (IB)TimmClassifier


#: MMPretrain's form: {model}[_{algorithm}[_qt]]_{N}xb{batch}_{dataset}.py, a timm model as
#: timm-<arch>, the algorithm aib (a study's variant: aib-<what>)
NAME_FORM = re.compile(
    r"(?P<model>[a-z0-9.-]+)(?:_(?P<algo>aib(?:-[a-z0-9-]+)?)(?:_qt)?)?_\d+xb\d+_[a-z0-9-]+\.py"
)


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.name)
def test_config_name_has_the_one_form(path: Path) -> None:
    match = NAME_FORM.fullmatch(path.name)
    assert match, f"{path.name}: expected {{model}}_aib[_qt]_{{N}}xb{{batch}}_{{dataset}}.py"
    model = match["model"]
    assert "aib" not in model, f"{path.name}: the algorithm goes after '_', not in the model"
    assert model != "timm", f"{path.name}: a timm model is named timm-<arch>"


def _bases(path: Path) -> list[Path]:
    """The local base files a config or fragment names in its ``_base_`` list (each checked);
    MMPretrain's own fragments (``mmpretrain::``) are checked by loading the config."""
    found = re.findall(r"^_base_\s*=\s*\[(.*?)\]", path.read_text(), re.M | re.S)
    assert len(found) <= 1, f"{path.name}: more than one _base_ list"
    names = [b.strip(" \n'\"") for b in found[0].split(",")] if found else []
    names = [name for name in names if name and not name.startswith("mmpretrain::")]
    bases = [(path.parent / name).resolve() for name in names]
    for base in bases:  # a local file, relative to the one naming it
        assert base.is_file(), f"{path.name}: missing base {base}"
    return bases


BASE_FILES = sorted((CONFIGS / "_base_").rglob("*.py"))


#: the configs MMPretrain's wheel ships, which ``mmpretrain::`` bases name
MMPRETRAIN_CONFIGS = Path(mmpretrain.__file__).parent / ".mim" / "configs"


def _without_scope(node):
    if isinstance(node, dict):
        return {k: _without_scope(v) for k, v in node.items() if k != "_scope_"}
    return node


@pytest.mark.parametrize(
    "fragment, mmpretrain_model, num_classes",
    [
        ("resnet18_cifar_aib.py", "resnet18_cifar.py", 10),
        ("resnet50_aib.py", "resnet50.py", 1000),
        ("wide-resnet50_aib.py", "wide-resnet50.py", 200),  # CUB's birds
    ],
)
def test_model_fragments_extend_mmpretrains_own(
    fragment: str, mmpretrain_model: str, num_classes: int
) -> None:
    """The AIB model fragments keep MMPretrain's backbone (the CUB one adds the ImageNet
    checkpoint) and change the neck and the head, which the neck's K feeds."""
    ours = Config.fromfile(str(CONFIGS / "_base_" / "models" / fragment)).model
    stock = Config.fromfile(str(MMPRETRAIN_CONFIGS / "_base_" / "models" / mmpretrain_model)).model
    backbone = _without_scope(ours.backbone.to_dict())
    backbone.pop("init_cfg", None)
    assert backbone == _without_scope(stock.backbone.to_dict())
    assert (ours.type, ours.neck.type, stock.neck.type) == (
        "IBImageClassifier",
        "IBAttention",
        "GlobalAveragePooling",
    )
    assert ours.head.num_classes == num_classes
    assert ours.head.in_channels == ours.neck.get("bottleneck_dim", 256) != stock.head.in_channels
    assert ours.head.loss.loss_weight == pytest.approx(1 / math.log(2))  # cross-entropy in bits


def test_every_base_fragment_is_local_and_inherited() -> None:
    """The fragments (MMPretrain's layout: models/, datasets/, schedules/ and the runtime) load
    on their own and each is inherited by some config."""
    assert {p.parent.name for p in BASE_FILES} == {"_base_", "models", "datasets", "schedules"}
    used: set[Path] = set()
    todo = list(CONFIG_FILES)
    while todo:
        for base in _bases(todo.pop()):
            if base not in used:
                used.add(base)
                todo.append(base)
    for path in BASE_FILES:
        assert path.resolve() in used, f"no config inherits {path.relative_to(CONFIGS)}"
        Config.fromfile(str(path))


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.name)
def test_config_is_self_contained(path: Path) -> None:
    text = path.read_text()
    assert _bases(path) or "mmpretrain::" in text, f"{path.name}: expected a _base_ list"
    cfg = Config.fromfile(str(path))
    assert cfg.custom_imports == dict(imports=["aib_plugin.mmpretrain"], allow_failed_imports=False)
    hook_types = {h["type"] for h in cfg.custom_hooks}
    if path.name not in PLAIN_CONFIGS:
        assert cfg.model.type in ("IBImageClassifier", "IBTimmClassifier")
        assert "AttentionVisualizationHook" in hook_types and "IBStatsHook" not in hook_types
    neck = cfg.model.get("neck") or {}
    if neck.get("learn_anchors", cfg.model.get("learn_anchors", False)):
        # the authors' CIFAR code trains the anchors at 1e-4 x the learning rate
        custom = cfg.optim_wrapper.paramwise_cfg.custom_keys
        assert custom[".anchors"]["lr_mult"] == pytest.approx(1e-4)
    elif "_qt" in path.name:  # frozen anchors (the default): nothing for the optimizer
        assert ".anchors" not in str(cfg.get("optim_wrapper", {}).get("paramwise_cfg", {}))


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.name)
def test_config_model_builds_and_runs(path: Path) -> None:
    cfg = Config.fromfile(str(path))
    model_cfg = cfg.model.copy()
    model_cfg.setdefault("data_preprocessor", cfg.get("data_preprocessor"))
    model = MODELS.build(model_cfg)
    num_classes = cfg.data_preprocessor.num_classes
    size = 32 if "cifar" in path.name else 64
    torch.manual_seed(0)
    batch = {
        "inputs": [torch.randint(0, 256, (3, size, size), dtype=torch.uint8) for _ in range(2)],
        "data_samples": [DataSample().set_gt_label(i % num_classes) for i in range(2)],
    }
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode="loss")
    neck = cfg.model.get("neck") or {}
    learn_anchors = neck.get("learn_anchors", cfg.model.get("learn_anchors", False))
    expected = {"loss_cls", "loss_kl"} | ({"loss_commit"} if "_qt" in path.name else set())
    if learn_anchors:  # the codebook loss trains the anchors
        expected.add("loss_vq")
    area_weight = cfg.model.get("area_weight", (cfg.model.get("neck") or {}).get("area_weight"))
    if area_weight:  # the cluttered-digits AIB configs price the attended area
        expected.add("loss_area")
    if path.name in PLAIN_CONFIGS:
        expected = {"loss"}
    assert {k for k in losses if k.startswith("loss")} == expected
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    with torch.no_grad():
        preds = model(**model.data_preprocessor(batch, False), mode="predict")
    assert len(preds) == 2 and preds[0].pred_score.shape == (num_classes,)


def test_the_cifar_vgg_config_is_the_authors_vgg_setting() -> None:
    from aib_plugin.layers import ConvAttentionHead

    cfg = Config.fromfile(str(CONFIGS / "vgg16-bn_aib_qt_1xb128_cifar10.py"))
    model = MODELS.build(cfg.model).model
    # one 3x3 conv (+ sigmoid) as the head, after three conv blocks: a 256-channel map
    assert isinstance(model.ib_attention.head, ConvAttentionHead)
    assert model.ib_attention.head.conv.kernel_size == (3, 3) and model.ib_attention.in_chs == 256
    assert model.attention_path == "features.24"
    # decoder Linear(K, K) -> ReLU -> Linear, K = 256; the KL's factor 0.5 in beta
    decoder = model.decoder
    assert (decoder.hidden.in_features, decoder.hidden.out_features) == (256, 256)
    assert decoder.fc.in_features == 256 and decoder.fc.out_features == 10
    assert model.objective.beta == pytest.approx(0.5 * 0.01)
    assert any(name.endswith("quantizer.anchors") for name, _ in model.named_parameters())
    assert cfg.train_dataloader.batch_size == 128
    assert [s["type"] for s in cfg.param_scheduler] == ["ConstantLR", "StepLR"]


def test_the_cub_config_decodes_z_with_the_authors_linear_relu_linear() -> None:
    cfg = Config.fromfile(str(CONFIGS / "wide-resnet50_aib_1xb16_cub.py"))
    model = MODELS.build(cfg.model)
    assert model.neck.relu_output is False
    linears = [m for m in model.head.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(256, 256), (256, 200)]
    relus = [m for m in model.head.modules() if isinstance(m, torch.nn.ReLU)]
    assert len(relus) == 1
    model.eval()
    with torch.no_grad():
        (z,) = model.extract_feat(torch.randn(2, 3, 64, 64))
    # the authors' placement: the attention modulates the input of layer4
    assert "backbone.layer4.ib_attention" in dict(model.named_modules())
    assert z.shape == (2, 256) and (z < 0).any()  # z itself, not relu(z)


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.name)
def test_runtime_settings_come_from_the_base_fragment(path: Path) -> None:
    text = path.read_text()
    for key in ("default_scope", "env_cfg", "visualizer", "custom_imports"):
        assert f"\n{key} =" not in text, f"{path.name} repeats {key} (configs/_base_/)"
    cfg = Config.fromfile(str(path))
    assert cfg.default_scope == "mmpretrain" and cfg.env_cfg.dist_cfg.backend == "nccl"


def _expand(pattern: str) -> list[str]:
    """``a{,_qt}_b.py`` -> ``['a_b.py', 'a_qt_b.py']`` (the shell's brace expansion)."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if match is None:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [name for part in match.group(1).split(",") for name in _expand(head + part + tail)]


def test_the_fidelity_record_covers_every_config_that_claims_the_paper() -> None:
    """docs/paper_fidelity.md lists, setting by setting, where the configs follow the authors."""
    record = (CONFIGS.parent / "docs" / "paper_fidelity.md").read_text()
    named = {n for p in re.findall(r"`([\w/{},.-]+\.py)`", record) for n in _expand(p)}
    named = {n for n in named if NAME_FORM.fullmatch(Path(n).name)}  # configs, not other files
    for name in named:  # relative to configs/
        assert (CONFIGS / name).is_file(), f"docs/paper_fidelity.md names a missing {name}"
    for path in CONFIG_FILES:
        first = path.read_text().splitlines()[0]
        if path.is_relative_to(CONFIGS) and re.search(r"as the paper\b|the authors' ", first):
            name = str(path.relative_to(CONFIGS))
            assert name in named, f"{name} claims the paper; add it to the record"


def test_efficientnet_variant_puts_the_attention_on_the_15x15_layer() -> None:
    """The variant's attention_stage=-3 reaches timm: the attention wraps blocks.2, 15x15 cells."""
    path = STUDY_CONFIGS / "cluttered_mnist"
    cfg = Config.fromfile(str(path / "efficientnet-b0_aib-blocks2_1xb32_cluttered-mnist.py"))
    model = MODELS.build(cfg.model).eval()
    wrapped = [name for name, _ in model.named_modules() if name.endswith(".ib_attention")]
    assert wrapped == ["model.backbone.blocks.2.ib_attention"]
    shapes = []
    attention = model.get_submodule(wrapped[0])
    attention.register_forward_hook(lambda _m, inputs, _o: shapes.append(tuple(inputs[0].shape)))
    with torch.no_grad():
        model(torch.rand(1, 3, 60, 60), mode="tensor")
    assert shapes == [(1, 24, 15, 15)]
