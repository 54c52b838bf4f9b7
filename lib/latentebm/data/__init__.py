"""Datasets. :mod:`.toys` generates toy distributions; image and tabular loaders keep their real download
code (hash-checked with pooch) for the ``full`` profile and use data shipped with installed packages in ``ci``."""
