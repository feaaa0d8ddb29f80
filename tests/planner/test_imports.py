"""planner/_imports.py: an optional package that is missing is one sentence naming the extra, also
when a library reports it with a plain ImportError (transformers without gguf)."""
from __future__ import annotations

import sys

import pytest

from planner._imports import MissingPackage, try_import


def test_an_import_error_naming_a_missing_optional_package_names_its_extra(monkeypatch):
    """transformers' own sentence for a GGUF file without gguf: torch is installed, gguf is not."""
    pytest.importorskip("torch")
    monkeypatch.setitem(sys.modules, "gguf", None)  # import finds nothing, as on a machine without it
    with pytest.raises(MissingPackage, match=r"the llm task needs the Python package gguf.*spendwise\[llm\]"):
        with try_import("the llm task"):
            raise ImportError("Please install torch and gguf>=0.10.0 to load a GGUF checkpoint in PyTorch.")


def test_an_import_error_naming_no_missing_package_is_left_alone():
    with pytest.raises(ImportError, match="cannot import name"):
        with try_import("the llm task"):
            raise ImportError("cannot import name 'thing' from 'planner' (planner/__init__.py)")
    with pytest.raises(ImportError, match="Please install numpy"):
        with try_import("the llm task"):
            raise ImportError("Please install numpy>=9")  # installed: a version problem, not a missing package
