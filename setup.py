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


def compiled(module: str) -> Extension:
    """One Cython module, built with the same directives, macros and optimisation as every other."""
    return Extension(
        module,
        [module.replace(".", "/") + ".pyx"],
        include_dirs=[numpy.get_include()],
        define_macros=[("DOMPROMISE_DEBUG", "1" if DEBUG else "0"), ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=["-O0", "-g"] if DEBUG else ["-O3"],
    )


extensions = [
    # The core: state (the stock state machine; state.pyx includes its state_*.pxi parts), transport (the EDT
    # tables), promise (the promise kernel).
    compiled("dompromise._core.state"),
    compiled("dompromise._core.transport"),
    compiled("dompromise._core.promise"),
    # Reserve records applied from their log bytes (cimports the core's state.pxd).
    compiled("dompromise.inventory._records"),
    # Answers written as protobuf wire bytes: GetAvailability from the core's arrays; ReserveInventory and
    # UpdateStock from an Outcome.
    compiled("dompromise.wire.availability"),
    compiled("dompromise.wire.outcomes"),
    # PromiseDeliveryResponse written from a promise answer.
    compiled("dompromise.wire.promise"),
    # PromiseDeliveryRequest read from its wire bytes (the common request; anything else is decoded as ever).
    compiled("dompromise.wire.promise_request"),
]

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
