"""Builds idgraph's compiled resolution core (mypyc) when IDGRAPH_COMPILE=1.

The modules listed under ``[tool.idgraph] compiled`` in pyproject.toml are compiled by mypyc
from their own Python source: the same code, typed, runs compiled (no second implementation).
``make deps`` builds them in place (``python setup.py build_ext --inplace``); the Docker
image builds them into its wheel. Without IDGRAPH_COMPILE=1 the package installs as pure
Python.
"""

import os
import tomllib
from pathlib import Path

from setuptools import setup

ext_modules = []
if os.environ.get("IDGRAPH_COMPILE") == "1":
    from mypyc.build import mypycify

    config = tomllib.loads(Path(__file__).with_name("pyproject.toml").read_text("utf-8"))
    ext_modules = mypycify(config["tool"]["idgraph"]["compiled"], group_name="idgraph._core",
                           opt_level="3")

setup(ext_modules=ext_modules)
