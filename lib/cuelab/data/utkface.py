"""UTKFace from a user-supplied folder (the aligned-and-cropped release; it cannot be downloaded offline).

File names are `age_gender_race_date.jpg` (e.g. `25_0_1_20170116174525125.jpg.chip.jpg` in the "chip" variant):
age an integer 0–116, gender 0 male / 1 female, race 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others, date a
17-digit timestamp. A few files of the release break this pattern (a missing field, e.g. `39_1_20170116174525125.jpg`);
those are skipped and counted, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from cuelab.params import ParameterError, check_positive_int

RACES = ("White", "Black", "Asian", "Indian", "Others")
GENDERS = ("male", "female")
KINDS = {"age": "ordinal", "gender": "categorical", "race": "categorical"}
_NAME = re.compile(r"^(?P<age>\d{1,3})_(?P<gender>[01])_(?P<race>[0-4])_(?P<date>\d{17})\.jpg(?:\.chip\.jpg)?$")


def parse_name(name: str) -> dict | None:
    """{"age", "gender", "race"} from a UTKFace file name, or None when the name is malformed."""
    m = _NAME.match(name)
    if m is None:
        return None
    age = int(m["age"])
    if not 0 <= age <= 116:
        return None
    return {"age": age, "gender": int(m["gender"]), "race": int(m["race"])}


@dataclass
class UTKFaceSource:
    """A cue-factorised source over a UTKFace folder: factors age/gender/race, images resized to resolution."""

    utkface_dir: str | Path
    resolution: int = 64
    verbose: bool = True
    factors: pd.DataFrame = field(init=False, repr=False)
    kinds: dict = field(init=False, repr=False)
    files: list = field(init=False, repr=False)
    n_malformed: int = field(init=False)

    def __post_init__(self) -> None:
        check_positive_int("resolution", self.resolution)
        folder = Path(self.utkface_dir) if self.utkface_dir is not None else None
        if folder is None or not folder.is_dir():
            raise ParameterError("utkface_dir", None if folder is None else str(folder),
                                 "the path of an existing folder of UTKFace images named age_gender_race_date.jpg "
                                 "(the aligned-and-cropped release), or None to skip the UTKFace part")
        rows, files, bad = [], [], 0
        for p in sorted(folder.iterdir()):
            if not p.is_file() or not p.name.lower().endswith(".jpg"):
                continue
            parsed = parse_name(p.name)
            if parsed is None:
                bad += 1
                continue
            rows.append(parsed)
            files.append(p)
        if not rows:
            raise ParameterError("utkface_dir", str(folder), "a folder holding UTKFace images named age_gender_race_date.jpg")
        self.factors = pd.DataFrame(rows)
        self.kinds = dict(KINDS)
        self.files = files
        self.n_malformed = bad
        if self.verbose:
            print(f"UTKFace source: {folder} ({len(files):,} images, {bad} malformed names skipped), "
                  f"resized to {self.resolution}×{self.resolution}")

    def images(self, rows: np.ndarray) -> torch.Tensor:
        """(n, 3, H, W) float32 in [0, 1] for factor-table rows."""
        from PIL import Image

        out = np.empty((len(rows), self.resolution, self.resolution, 3), np.uint8)
        for i, r in enumerate(np.asarray(rows, np.int64)):
            with Image.open(self.files[r]) as im:
                out[i] = np.asarray(im.convert("RGB").resize((self.resolution, self.resolution), Image.BILINEAR))
        return torch.from_numpy(out).permute(0, 3, 1, 2).float() / 255.0
