"""Data sets: one module per family, each a LightningDataModule plus plain tensor builders."""
