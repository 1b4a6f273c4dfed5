"""Packaging beyond pyproject.toml: the top-level assets/ folder is installed as the package signage.assets.

pyproject.toml cannot list found packages and a mapped one together; everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

# The data folders are listed too (as namespace packages): setuptools warns about unlisted importable folders.
ASSETS = ["signage.assets", "signage.assets.sample", "signage.assets.sample.photos"]

setup(packages=[*find_packages(include=["signage", "signage.*"]), *ASSETS])
