"""Builds the Cython core. All metadata lives in pyproject.toml.

Environment flags:
  DOMPROMISE_DEBUG=1   bounds checks on, invariants checked after every command
  DOMPROMISE_ANNOTATE=1  write cython -a HTML next to each .pyx
  DOMPROMISE_NO_EXTENSIONS=1  build no extension: `make` installs the package editable this way, then
                              builds the core once with `build_ext --inplace` (not twice)
"""

import os

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("DOMPROMISE_DEBUG") == "1"

extensions = [
    Extension(
        f"dompromise._core.{name}",
        [f"dompromise/_core/{name}.pyx"],
        include_dirs=[numpy.get_include()],
        define_macros=[("DOMPROMISE_DEBUG", "1" if DEBUG else "0"), ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=["-O0", "-g"] if DEBUG else ["-O3"],
    )
    # state: the stock state machine; transport: the EDT tables; promise: the promise kernel.
    for name in ("state", "transport", "promise")
]

SKIP_EXTENSIONS = os.environ.get("DOMPROMISE_NO_EXTENSIONS") == "1"

setup(
    ext_modules=[]
    if SKIP_EXTENSIONS
    else cythonize(
        extensions,
        language_level=3,
        annotate=os.environ.get("DOMPROMISE_ANNOTATE") == "1",
        compiler_directives={
            "boundscheck": DEBUG,
            "wraparound": DEBUG,
            "initializedcheck": DEBUG,
            "cdivision": True,
            "embedsignature": True,
        },
    ),
)
