"""Bring your own model or method: each study's measurement as an instrument pointed at your network or attribution.

One entry point per study (in the module named after it), each returning a `Measurement` (a claims table with 95% intervals, a table of your
result beside the paper's and the workbook's own values, the study's main figure with your point marked, and
measure.json + claims.json written to reports/measure/<instrument>/<subject>/):

- `dist(model, release=None)`: global_shape — the DiST of your network (offline substitute, or the DiST release),
  beside the model-free controls, on the paper's DiST-versus-shape-bias scatter.
- `diffroar(attribution, model=None)`: input_gradients — the DiffROAR of your attribution on BlockMNIST, beside the
  input gradient and a random map, with the leak guard; one model or the standard/robust pair ("pair").
- `cue_preference(model)`: shortcut_cues — the WCST-ML cue your architecture adopts, off-diagonal accuracies per cue
  with intervals, beside the study's CNN and the measured chance.
- `xor(width=..., init_std=..., step_size=..., noise_rate=...)`: xor_grokking — the test curve of your setting on the
  exact engine beside the paper's Fig. 1 points.

What a model or an attribution may be: cuelab.measure.resolve (a Module, a builder "package.module:function",
"timm:<name>", "torchvision:<name>"; a callable f(model, x, target), "captum:<Method>",
"captum:NoiseTunnel(<Method>)"). Anything else raises MeasureError saying what is accepted, before anything
trains. Command line: `python -m cuelab measure {dist,diffroar,cues,xor} --help`.
"""

INSTRUMENTS = ("dist", "diffroar", "cues", "xor")

# Imported on first use, so `import cuelab.measure` (the site build, the CLI's --help) stays light.
_LAZY = {"Measurement": "cuelab.measure.common", "cue_preference": "cuelab.measure.shortcut_cues",
         "diffroar": "cuelab.measure.input_gradients", "dist": "cuelab.measure.global_shape",
         "MeasureError": "cuelab.measure.resolve", "resolve_attribution": "cuelab.measure.resolve",
         "resolve_model": "cuelab.measure.resolve", "xor": "cuelab.measure.xor_grokking"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cuelab.measure' has no attribute {name!r}")


__all__ = ["INSTRUMENTS", *sorted(_LAZY)]
