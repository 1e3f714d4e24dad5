"""The shared classifier and trainer on the cross-entropy path later studies use."""

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from cuelab import ParameterError
from cuelab.seeding import generator
from cuelab.training import (Classifier, StepRecorder, TrainConfig, accuracy, batched, evaluating, fit, make_trainer,
                             predict_logits)


def _blobs(n: int = 600) -> TensorDataset:
    g = generator(0)
    y = torch.randint(0, 3, (n,), generator=g)
    centres = torch.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    return TensorDataset(centres[y] + 0.5 * torch.randn(n, 2, generator=g), y)


def test_cross_entropy_training_learns_separable_blobs():
    data = _blobs()
    module = Classifier(torch.nn.Linear(2, 3), loss="cross_entropy", optimizer="sgd", lr=0.5)
    recorder = StepRecorder(lambda m, step: {"loss": float(m.loss(m(data.tensors[0]), data.tensors[1]))},
                            steps=range(0, 1000, 10))
    fit(module, DataLoader(data, batch_size=100, shuffle=True), seed=0, max_epochs=5, callbacks=[recorder])
    losses = [r["loss"] for r in recorder.rows]
    assert recorder.rows[0]["step"] == 0 and recorder.rows[-1]["step"] == 30  # 6 batches × 5 epochs
    assert losses[-1] < 0.2 * losses[0]
    pred = module.predict_labels(module(data.tensors[0]))
    assert (pred == data.tensors[1]).double().mean().item() > 0.98


def test_same_seed_same_weights():
    weights = []
    for _ in range(2):
        torch.manual_seed(1)
        module = Classifier(torch.nn.Linear(2, 3), optimizer="adam", lr=0.05)
        fit(module, DataLoader(_blobs(), batch_size=64, shuffle=True), seed=3, max_epochs=2)
        weights.append(module.model.weight.detach().clone())
    assert torch.equal(weights[0], weights[1])


def test_trainer_is_quiet_and_checks_its_arguments():
    trainer = make_trainer(max_epochs=1)
    assert trainer.logger is None and not trainer.checkpoint_callbacks
    with pytest.raises(ParameterError, match="precision='8-bit'"):
        make_trainer(precision="8-bit")
    with pytest.raises(ParameterError, match="max_epochs=0"):
        make_trainer(max_epochs=0)
    with pytest.raises(ParameterError, match="optimizer='rmsprop'"):
        Classifier(torch.nn.Linear(2, 2), optimizer="rmsprop")


def test_train_config_checks_and_feeds_the_classifier():
    with pytest.raises(ParameterError, match="optimizer='rmsprop'"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ParameterError, match="epochs=0"):
        TrainConfig(epochs=0)
    config = TrainConfig(lr=0.05, optimizer="sgd", momentum=0.9).with_(weight_decay=1e-4)
    module = Classifier(torch.nn.Linear(2, 2), **config.optimizer_kwargs())
    optimizer = module.configure_optimizers()
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.defaults["lr"] == 0.05 and optimizer.defaults["momentum"] == 0.9
    assert optimizer.defaults["weight_decay"] == 1e-4


def test_accuracy_is_batched_in_eval_mode_and_restores_the_mode():
    x = torch.arange(10, dtype=torch.float32).reshape(10, 1)
    y = torch.tensor([0] * 5 + [1] * 5)
    model = torch.nn.Linear(1, 2)
    with torch.no_grad():  # logit1 − logit0 = x − 4.5 → predicts 1 for x ≥ 5: all right
        model.weight.copy_(torch.tensor([[0.0], [1.0]]))
        model.bias.copy_(torch.tensor([0.0, -4.5]))
    model.train()
    assert accuracy(model, x, y, batch_size=3) == 1.0
    assert accuracy(model, x, 1 - y, batch_size=4) == 0.0
    assert model.training  # the caller's mode comes back
    bn = torch.nn.Sequential(torch.nn.BatchNorm1d(1), torch.nn.Linear(1, 2))
    bn[0].running_mean.fill_(100.0)  # eval mode uses this; training mode would use the batch's statistics
    with torch.no_grad():
        bn[1].weight.copy_(torch.tensor([[0.0], [1.0]]))
        bn[1].bias.zero_()
    assert accuracy(bn, x, torch.zeros(10, dtype=torch.long)) == 1.0  # (x − 100) < 0 → class 0 everywhere
    assert accuracy(bn, x, y, bn_train_mode=True) == 1.0  # batch-normalised x: negative for the first five


def _bn_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(), torch.nn.Linear(4, 2))


def test_batched_equals_the_unbatched_forward_in_eval_mode_and_restores_the_mode():
    x = torch.randn(23, 3, generator=generator(1))
    y = torch.randint(0, 2, (23,), generator=generator(2))
    model = _bn_net().train()
    with torch.no_grad():
        model(x)  # running statistics away from their initial values
    model.eval()
    with torch.no_grad():
        whole = model(x)
    model.train()
    for batch_size in (1, 5, 23, 100):  # a ragged last batch, one batch, a batch larger than the data
        out = batched(model, x, batch_size=batch_size)
        assert torch.allclose(out, whole, atol=1e-6) and out.device.type == "cpu" and not out.requires_grad
        assert model.training  # the caller's mode comes back
    assert torch.equal(predict_logits(model, x, batch_size=5), batched(model, x, batch_size=5))
    hits = batched(model, x, y, fn=lambda m, xb, yb: m(xb).argmax(-1) == yb, batch_size=4)  # more tensors sliced alike
    assert torch.equal(hits, whole.argmax(-1) == y)
    assert accuracy(model, x, y, batch_size=4) == float((whole.argmax(-1) == y).double().mean())
    model.eval()
    batched(model, x, batch_size=5, train_mode=True)  # BatchNorm on batch statistics inside, eval mode after
    assert not model.training


def test_batched_and_evaluating_restore_the_mode_when_the_forward_raises():
    model = _bn_net().train()

    def boom(m, xb):
        assert not m.training  # eval mode inside
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        batched(model, torch.zeros(4, 3), fn=boom)
    assert model.training
    model.eval()
    with pytest.raises(ValueError), evaluating(model, train_mode=True):
        assert model.training
        raise ValueError
    assert not model.training
