from __future__ import annotations

import pytest

from tests.conftest import needs


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory):
    """The folder of a 2-layer random Llama and its word-level tokenizer, built once."""
    needs("trl")
    from tests.bootstrapper.tasks.helpers import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))
