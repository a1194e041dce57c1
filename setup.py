"""Build the optional compiled kernel, paralleldot._native (see paralleldot/_native.c).

It needs a C compiler and numpy's headers. If either is missing or the
compiler fails, the package installs without it and runs its numpy
kernels, as before.

numpy is a build requirement given here (``setup_requires``, which
setuptools' PEP 517 backend reports to pip as a dynamic one), not in
pyproject.toml's ``build-system.requires``: asv 0.6 installs every package
listed there into its environments with ``pip install --upgrade``, after
the matrix's pins, so ``numpy>=1.26`` there replaced the matrix's numpy
1.26.4 and 2.4.6 by the newest numpy (2.2.6 on Python 3.10, 2.5.5 on 3.13).
pip's isolated builds (``pip install .``) still get numpy; asv builds
without isolation, against the environment's numpy.
"""

from setuptools import Extension, setup

try:
    import numpy
except ImportError:  # no numpy at build time: pure Python
    ext_modules = []
else:
    ext_modules = [
        Extension(
            "paralleldot._native",
            ["paralleldot/_native.c"],
            include_dirs=[numpy.get_include()],
            extra_compile_args=["-O3", "-std=c11", "-ffp-contract=fast", "-fno-trapping-math",
                                "-fno-math-errno"],
            optional=True,
        )
    ]

setup(ext_modules=ext_modules, setup_requires=["numpy>=1.26"])
