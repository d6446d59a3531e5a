"""Build the optional native parts; metadata lives in pyproject.toml.

``snakeport.core.etf._cetf`` is the codec accelerator, ``snakeport.edge._guard``
the orphan guard that needs no GIL.

Without a C compiler, Python headers or zlib's header the build is skipped
with a one-line warning and the install still succeeds: the pure-Python
codec and the Python orphan guard are then used.
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

FLAGS = ["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"]


class OptionalBuildExt(build_ext):
    """build_ext that never fails the install: the extension is an accelerator."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler at all, or a broken toolchain
            self._skip(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # a compile or link error: missing headers, zlib
            self._skip(exc)

    def _skip(self, exc: Exception) -> None:
        reason = " ".join(str(exc).split())[:200]
        print(f"warning: a native part of snakeport was not built ({reason}); its pure one is used", file=sys.stderr)


extra = os.environ.get("SNAKEPORT_CFLAGS", "").split()
setup(
    ext_modules=[
        Extension(
            "snakeport.core.etf._cetf",
            sources=["adapter/snakeport/core/etf/_cetf.c"],
            libraries=["z"],
            extra_compile_args=FLAGS + extra,
            extra_link_args=extra,
            optional=True,
        ),
        Extension(
            "snakeport.edge._guard",
            sources=["adapter/snakeport/edge/_guard.c"],
            extra_compile_args=FLAGS + extra,
            extra_link_args=[*extra, "-pthread"],
            optional=True,
        ),
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
