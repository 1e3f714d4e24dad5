"""Interactive explorers over a run's recorded results, that degrade to a still figure.

In JupyterLab `explorer(draw, step=[0, 1, 2], method=["gradient", "smoothgrad"])`
shows ipywidgets controls (a slider for numbers, a dropdown otherwise) and
redraws with `draw(step=..., method=...)`; nothing is re-trained. Run headless
(papermill, nbval, the static site: CUELAB_HEADLESS=1, which `cuelab.reproduce`,
`make refresh-notebooks` and the tests set) it draws once, with `still` or the
first value of every control, so the committed notebook carries a plain figure
and no widget state.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt

HEADLESS_ENV = "CUELAB_HEADLESS"


def headless() -> bool:
    """True when no person is looking: CUELAB_HEADLESS is set to anything but "" or "0"."""
    return os.environ.get(HEADLESS_ENV, "") not in ("", "0")


def _widget(name: str, options: Sequence[Any], value: Any):
    import ipywidgets as w

    options = list(options)
    numeric = all(isinstance(o, (int, float)) and not isinstance(o, bool) for o in options)
    if numeric and len(options) > 6:
        return w.SelectionSlider(options=options, value=value, description=name, continuous_update=False)
    return w.Dropdown(options=options, value=value, description=name)


def explorer(draw: Callable[..., Any], *, still: dict[str, Any] | None = None, play: str | None = None,
             **controls: Sequence[Any]) -> None:
    """Show `draw` with one control per keyword (its options); headless, draw once with `still` or the first options.

    play: the name of a control to animate: a play / pause / step button (ipywidgets.Play) linked to it is shown
    above the controls."""
    if play is not None and play not in controls:
        raise ValueError(f"explorer: play={play!r} is not a control; controls are {sorted(controls)}")
    for name, options in controls.items():
        if len(list(options)) == 0:
            raise ValueError(f"explorer: control {name!r} has no options; give it a non-empty list")
    start = {name: list(options)[0] for name, options in controls.items()} | dict(still or {})
    unknown = set(start) - set(controls)
    if unknown:
        raise ValueError(f"explorer: still names {sorted(unknown)}, which are not controls; controls are {sorted(controls)}")
    if not headless():
        try:
            import ipywidgets
        except ImportError:
            ipywidgets = None
        if ipywidgets is not None:
            def redraw(**values: Any) -> None:
                draw(**values)
                plt.show()

            widgets = {n: _widget(n, o, start[n]) for n, o in controls.items()}
            if play is None:
                ipywidgets.interact(redraw, **widgets)
                return
            from IPython.display import display

            options = list(controls[play])
            player = ipywidgets.Play(min=0, max=len(options) - 1, value=options.index(start[play]), interval=700,
                                     description=f"play {play}")
            ipywidgets.jslink((player, "value"), (widgets[play], "index"))
            display(ipywidgets.VBox([player, ipywidgets.interactive(redraw, **widgets)]))
            return
    draw(**start)
    plt.show()
