"""Builds the Cython core. All metadata lives in pyproject.toml.

Environment flags:
  DOMPROMISE_DEBUG=1     bounds checks on, invariants checked after every command (make debug)
  DOMPROMISE_ANNOTATE=1  write cython -a HTML next to each .pyx (make annotate)
  DOMPROMISE_NO_EXTENSIONS=1  build no extension: `make` installs the package editable this way, then
                              builds the core once with `build_ext --inplace` (not twice)
"""

import os

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("DOMPROMISE_DEBUG") == "1"
ANNOTATE = os.environ.get("DOMPROMISE_ANNOTATE") == "1"

extensions = [
    Extension(
        f"dompromise._core.{name}",
        [f"dompromise/_core/{name}.pyx"],
        include_dirs=[numpy.get_include()],
        define_macros=[("DOMPROMISE_DEBUG", "1" if DEBUG else "0"), ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=["-O0", "-g"] if DEBUG else ["-O3"],
    )
    # state: the stock state machine (state.pyx includes its state_*.pxi parts);
    # transport: the EDT tables; promise: the promise kernel.
    for name in ("state", "transport", "promise")
]
extensions += [
    # Reserve records applied from their log bytes (cimports the core's state.pxd).
    Extension(
        "dompromise.inventory._records",
        ["dompromise/inventory/_records.pyx"],
        define_macros=[("DOMPROMISE_DEBUG", "1" if DEBUG else "0")],
        extra_compile_args=["-O0", "-g"] if DEBUG else ["-O3"],
    ),
    # ReserveInventory and UpdateStock answers written as protobuf wire bytes from an Outcome.
    Extension(
        "dompromise.wire.outcomes",
        ["dompromise/wire/outcomes.pyx"],
        define_macros=[("DOMPROMISE_DEBUG", "1" if DEBUG else "0")],
        extra_compile_args=["-O0", "-g"] if DEBUG else ["-O3"],
    ),
]

# wire._promise: PromiseDeliveryResponse written as protobuf wire bytes from a promise answer (no numpy).
extensions.append(
    Extension(
        "dompromise.wire._promise",
        ["dompromise/wire/_promise.pyx"],
        define_macros=[("DOMPROMISE_DEBUG", "1" if DEBUG else "0")],
        extra_compile_args=["-O0", "-g"] if DEBUG else ["-O3"],
    )
)

SKIP_EXTENSIONS = os.environ.get("DOMPROMISE_NO_EXTENSIONS") == "1"

setup(
    ext_modules=[]
    if SKIP_EXTENSIONS
    else cythonize(
        extensions,
        language_level=3,
        annotate=ANNOTATE,
        # cythonize regenerates a .c only when it is older than its sources, whatever the
        # directives: the debug build's C lives apart, so neither build compiles the other's.
        build_dir="build/debug-c" if DEBUG else None,
        # The HTML is written when the C is: regenerate it even when it is up to date.
        force=ANNOTATE,
        # The only place directives are set (tests/core/test_core_debug_build.py keeps it so).
        compiler_directives={
            "boundscheck": DEBUG,
            # Off in both builds: the core never indexes from the end, so in a debug build a
            # negative index fails the bounds check instead of reading the last item.
            "wraparound": False,
            "initializedcheck": DEBUG,
            "cdivision": True,
            "embedsignature": True,
        },
    ),
)
