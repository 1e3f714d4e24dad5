"""One LightningModule for classification, a quiet Trainer factory, and a per-step recorder."""

from __future__ import annotations

import gc
import logging
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.utilities.warnings import PossibleUserWarning
from torch import nn

from cuelab.augment import AUGMENTS, augment
from cuelab.params import check_choice, check_positive, check_positive_int
from cuelab.progress import headless
from cuelab.seeding import seed_everything

LOSSES = ("cross_entropy", "logistic")
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "multistep")  # multistep: ×0.1 at 50 % and at 75 % of the epochs
PRECISIONS = ("32-true", "64-true", "16-mixed", "bf16-mixed")


@dataclass(frozen=True)
class TrainConfig:
    """Optimizer, learning rate, epochs and batch size of one training run (the studies' shared recipe)."""

    epochs: int = 8
    lr: float = 1e-3
    batch_size: int = 128
    optimizer: str = "adam"
    momentum: float = 0.0
    weight_decay: float = 0.0
    schedule: str = "constant"
    augment: str = "none"  # cuelab.augment: "none" | "crop" | "crop-flip"

    def __post_init__(self) -> None:
        check_positive_int("epochs", self.epochs)
        check_positive("lr", self.lr)
        check_positive_int("batch_size", self.batch_size)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("augment", self.augment, AUGMENTS)

    def with_(self, **changes: Any) -> "TrainConfig":
        """A copy with some fields changed."""
        return replace(self, **changes)

    def optimizer_kwargs(self) -> dict[str, Any]:
        """The keyword arguments Classifier takes for this recipe's optimizer."""
        return dict(optimizer=self.optimizer, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay,
                    schedule=self.schedule, augment=self.augment)


def best_device() -> torch.device:
    """The GPU when there is one, else the CPU (Lightning hands models back on the CPU after fit)."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextmanager
def evaluating(model: nn.Module, *, train_mode: bool = False) -> Iterator[nn.Module]:
    """The model in eval mode inside the block (train_mode=True: training mode, e.g. BatchNorm on batch statistics);
    its own mode is restored afterwards, also when the block raises. Gradients are left as they are."""
    was = model.training
    model.train(train_mode)
    try:
        yield model
    finally:
        model.train(was)


@torch.no_grad()
def batched(
    model: nn.Module,
    x: torch.Tensor,
    *more: torch.Tensor,
    fn: Callable[..., torch.Tensor] | None = None,
    batch_size: int = 512,
    train_mode: bool = False,
) -> torch.Tensor:
    """fn(model, x_batch, *more_batches) over consecutive batches of x (and of each tensor in more, sliced alike), moved
    to the model's device; the results concatenated on the CPU. fn=None: the model's outputs.

    A pure forward evaluation: under torch.no_grad, in eval mode (train_mode=True: training mode), the model's mode
    restored afterwards (cuelab.training.evaluating). Callers that need gradients (attributions, attacks) do not use it.
    """
    device = next(model.parameters()).device
    with evaluating(model, train_mode=train_mode):
        parts = []
        for i in range(0, len(x), batch_size):
            batch = [t[i : i + batch_size].to(device) for t in (x, *more)]
            parts.append((model(*batch) if fn is None else fn(model, *batch)).cpu())
    return torch.cat(parts)


def predict_logits(model: nn.Module, x: torch.Tensor, *, batch_size: int = 512,
                   train_mode: bool = False) -> torch.Tensor:
    """The model's outputs on x, batch by batch in eval mode, on the CPU (cuelab.training.batched)."""
    return batched(model, x, batch_size=batch_size, train_mode=train_mode)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 512, bn_train_mode: bool = False) -> float:
    """Accuracy of the model's argmax on (x, y), batch by batch on the model's device.

    Evaluated in eval mode; bn_train_mode=True evaluates in training mode (BatchNorm on batch statistics), as some
    papers' code did. The model's mode is restored afterwards.
    """
    if len(y) == 0:
        return 0.0
    hits = batched(model, x, y, fn=lambda m, xb, yb: m(xb).argmax(-1) == yb, batch_size=batch_size,
                   train_mode=bn_train_mode)
    return int(hits.sum()) / len(y)


def _silence_lightning() -> None:
    # Banners such as "GPU available: False" are noise in committed notebook outputs.
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)


class Classifier(L.LightningModule):
    """Trains any nn.Module as a classifier.

    loss="cross_entropy": integer labels, one logit per class.
    loss="logistic": labels in {-1, +1}, one scalar output, mean log(1 + exp(-y f(x))).
    schedule: "constant" or "multistep" (×0.1 at 50 % and 75 % of the Trainer's max_epochs); augment: applied to
    each training batch (cuelab.augment: "none", "crop", "crop-flip").
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        loss: str = "cross_entropy",
        optimizer: str = "sgd",
        lr: float = 0.1,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        schedule: str = "constant",
        augment: str = "none",
    ) -> None:
        super().__init__()
        self.model = model
        self.schedule = check_choice("schedule", schedule, SCHEDULES)
        self.augment = check_choice("augment", augment, AUGMENTS)
        self.loss_name = check_choice("loss", loss, LOSSES)
        self.optimizer_name = check_choice("optimizer", optimizer, OPTIMIZERS)
        self.lr = check_positive("lr", lr)
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The training loss of outputs out against labels y."""
        if self.loss_name == "logistic":
            return F.softplus(-y.to(out.dtype) * out.reshape(-1)).mean()
        return F.cross_entropy(out, y)

    def predict_labels(self, out: torch.Tensor) -> torch.Tensor:
        """Predicted labels: the sign (±1) for logistic, the argmax otherwise."""
        if self.loss_name == "logistic":
            return torch.where(out.reshape(-1) > 0, 1, -1)
        return out.argmax(dim=-1)

    def _step(self, batch: Any, stage: str) -> torch.Tensor:
        x, y = batch[0], batch[1]
        out = self(x)
        loss = self.loss(out, y)
        if stage != "train" or self._shows_step_metrics():
            acc = (self.predict_labels(out) == y).double().mean()
            self.log(f"{stage}_loss", loss, prog_bar=True, on_step=stage == "train", on_epoch=stage != "train")
            self.log(f"{stage}_acc", acc, prog_bar=True, on_step=stage == "train", on_epoch=stage != "train")
        return loss

    def _shows_step_metrics(self) -> bool:
        # Per-step logging costs ~2 ms a call on a CPU (~10 % of a small network's fit) and, with make_trainer's
        # defaults (no logger, no progress bar), nobody can see it: log training steps only when someone can.
        if self._trainer is None:
            return False
        return self.trainer.logger is not None or self.trainer.progress_bar_callback is not None

    def augmented(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """The training batch (x, y) with the configured augmentation applied to x."""
        return augment(batch[0], self.augment), batch[1]

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._step(self.augmented(batch), "train")

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._step(batch, "val")

    def configure_optimizers(self) -> Any:
        params = [p for p in self.parameters() if p.requires_grad]
        if self.optimizer_name == "adam":
            opt: torch.optim.Optimizer = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        else:
            opt = torch.optim.SGD(params, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)
        if self.schedule == "constant":
            return opt
        epochs = int(self.trainer.max_epochs) if self._trainer is not None and self.trainer.max_epochs else 1
        milestones = sorted({max(1, epochs // 2), max(1, (3 * epochs) // 4)})
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=0.1)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}


class StepRecorder(L.Callback):
    """Calls measure(module, step) at step 0 and after each listed optimizer step; keeps the rows.

    Lightning's batch-end hooks run after the optimizer step, so a row recorded there
    describes the weights *after* step t; step 0 (the initial weights) is recorded
    at train start, apart.
    """

    def __init__(self, measure: Callable[[L.LightningModule, int], dict[str, Any]], steps: Iterable[int] | None = None) -> None:
        self.measure = measure
        self.steps = None if steps is None else set(int(s) for s in steps)
        self.rows: list[dict[str, Any]] = []

    def _record(self, pl_module: L.LightningModule, step: int) -> None:
        if self.steps is not None and step not in self.steps:
            return
        with evaluating(pl_module), torch.no_grad():
            row = {"step": step, **self.measure(pl_module, step)}
        self.rows.append(row)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._record(pl_module, 0)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        self._record(pl_module, trainer.global_step)


def make_trainer(
    *,
    max_epochs: int | None = None,
    max_steps: int = -1,
    precision: str = "32-true",
    callbacks: Iterable[L.Callback] = (),
    progress_bar: bool = False,
    **kwargs: Any,
) -> L.Trainer:
    """A quiet, deterministic Trainer on accelerator="auto": no logger, checkpoints or banners.

    progress_bar=True shows Lightning's bar (on stdout) to a person; headless (cuelab.progress.headless()) it stays
    off, so a saved notebook holds no bar frozen mid-run.
    """
    _silence_lightning()
    check_choice("precision", precision, PRECISIONS)
    if max_epochs is not None:
        check_positive_int("max_epochs", max_epochs)
    return L.Trainer(
        accelerator="auto",
        devices=1,
        max_epochs=max_epochs,
        max_steps=max_steps,
        precision=precision,
        deterministic=True,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=bool(progress_bar) and not headless(),
        num_sanity_val_steps=0,
        callbacks=list(callbacks),
        **kwargs,
    )


def fit(
    module: L.LightningModule,
    data: L.LightningDataModule | torch.utils.data.DataLoader,
    *,
    seed: int | None = None,
    val_data: torch.utils.data.DataLoader | None = None,
    **trainer_kwargs: Any,
) -> L.Trainer:
    """Fit module on data (a DataModule or a train DataLoader) with make_trainer(**trainer_kwargs)."""
    if seed is not None:
        seed_everything(seed)
    trainer = make_trainer(**trainer_kwargs)
    with warnings.catch_warnings():
        # "does not have many workers" etc.: tensors already in memory need none.
        warnings.filterwarnings("ignore", category=PossibleUserWarning)
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*is deprecated.*")
        if isinstance(data, L.LightningDataModule):
            trainer.fit(module, datamodule=data)
        else:
            trainer.fit(module, train_dataloaders=data, val_dataloaders=val_data)
    # The Trainer, the module and the data reference each other; without a full collection their memory
    # comes back only at Python's next full GC pass, and many short fits in a row (a sweep) then pile up
    # gigabytes of dead tensors. A full pass costs ~0.3 s, small next to any fit.
    gc.collect()
    return trainer
