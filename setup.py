"""Declares cityhub's Cython extension(s); the Rust crate is declared in pyproject.toml
([tool.setuptools-rust]). Both are compiled by one `pip install -e .`."""

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension(
        "core_ext._masking",
        ["core_ext/_masking.pyx"],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=["-O3"],
    ),
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={"language_level": "3", "embedsignature": True},
    ),
)
