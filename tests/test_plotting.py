import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

from cuelab.plotting import band, save, use_house_style  # noqa: E402


def test_house_style_and_saved_figure(tmp_path):
    use_house_style()
    assert matplotlib.rcParams["axes.titleweight"] == "bold"
    fig, ax = plt.subplots(figsize=(3, 2))
    band(ax, [0, 1, 2], [0.1, 0.2, 0.3], [0.4, 0.5, 0.9])
    path = save(fig, tmp_path / "figures", "band")
    plt.close(fig)
    assert path == tmp_path / "figures" / "band.png"
    with Image.open(path) as img:
        assert img.size[0] > 100 and img.size[1] > 50
