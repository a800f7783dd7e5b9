"""`codeflow.logLevel` sets the level of the server's log, and unsetting it goes back."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from lsp_server.server import CodeflowServer


@pytest.fixture
def root_level() -> Iterator[None]:
    root = logging.getLogger()
    before = root.level
    root.setLevel(logging.INFO)  # what `codeflow serve` starts with
    yield
    root.setLevel(before)


def test_log_level_setting_sets_and_restores_the_level(root_level: None) -> None:
    server = CodeflowServer()
    try:
        assert server.apply_config({"logLevel": "debug"}) == []
        assert logging.getLogger().level == logging.DEBUG
        assert logging.getLogger("lsp_server.features").isEnabledFor(logging.DEBUG)
        server.apply_config({"codeflow": {"logLevel": "ERROR"}})
        assert logging.getLogger().level == logging.ERROR
        server.apply_config({})
        assert logging.getLogger().level == logging.INFO
    finally:
        server.cpu.shutdown()
        server.inference.stop()
