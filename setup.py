"""Build the optional compiled kernel, paralleldot._native (see paralleldot/_native.c).

It needs a C compiler and numpy's headers (numpy is in the build
requirements; asv builds without isolation, with the environment's numpy).
If either is missing or the compiler fails, the package installs without it
and runs its numpy kernels, as before.
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
            extra_compile_args=["-O3", "-std=c11", "-ffp-contract=fast", "-fno-trapping-math", "-fno-math-errno"],
            optional=True,
        )
    ]

setup(ext_modules=ext_modules)
