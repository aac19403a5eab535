"""Sphinx configuration for the acme_like documentation.

Build with warnings as errors:

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import acme_like  # noqa: E402

project = "acme_like"
author = "acme_like developers"
copyright = "acme_like developers"
release = acme_like.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

exclude_patterns = ["_build"]
root_doc = "index"

# numpydoc-style docstrings throughout the package.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

autodoc_member_order = "bysource"
autodoc_typehints = "signature"

html_theme = "alabaster"
html_theme_options = {
    "description": "A parallel map with HDF5 results, compatible with ACME",
    "fixed_sidebar": True,
}
html_static_path: list[str] = []
