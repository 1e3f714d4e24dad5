"""Time the XOR study's two GD engines at the paper's size, in one run: Gram-space (default) vs Lightning (reference).

    .venv/bin/python scripts/bench_xor_engine.py [--steps 5] [--seed 0] [--gram-steps 500]

Reports, per engine, the set-up time (data, weights, and for the Gram engine the one p-sized product) and the
time per GD step with every step measured (train and test outputs, neuron projections), then the per-step
ratio. Record `uptime` beside the numbers: on shared cores they are inflated by load.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from cuelab.data.xor import XorSpec
from cuelab.experiments import xor_grokking as X


def timed(config: X.XorRunConfig, seed: int) -> float:
    start = time.perf_counter()
    X.run_xor(config, seed)
    return time.perf_counter() - start


def per_step(config: X.XorRunConfig, seed: int, steps: int) -> tuple[float, float]:
    """(set-up seconds, seconds per step) from a 1-step and a (1 + steps)-step run."""
    short = timed(config.with_(steps=1), seed)
    long = timed(config.with_(steps=1 + steps), seed)
    step = max(long - short, 1e-9) / steps
    return short - step, step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="reference steps to time (each ~1-3 s)")
    parser.add_argument("--gram-steps", type=int, default=500, help="Gram-engine steps to time")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    spec = XorSpec.from_snr(dim=40_000, n_train=200, snr=2.5, noise_rate=0.05)
    config = X.XorRunConfig(spec=spec, n_train=200, n_test=200, width=1_000, init_std=1e-15, step_size=1e-12)
    print(f"paper size: p={spec.dim}, n=200, n_test=200, m=1000, float64; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.2f}")
    timed(config.with_(steps=1), args.seed)  # warm-up (allocator, first matmuls)
    g_setup, g_step = per_step(config, args.seed, args.gram_steps)
    print(f"gram:      set-up {g_setup:7.3f} s, {g_step * 1e3:9.3f} ms/step  ({args.gram_steps} steps timed)")
    r_setup, r_step = per_step(config.with_(engine="lightning"), args.seed, args.steps)
    print(f"lightning: set-up {r_setup:7.3f} s, {r_step * 1e3:9.3f} ms/step  ({args.steps} steps timed)")
    print(f"per-step ratio lightning/gram: {r_step / g_step:.0f}x; load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
