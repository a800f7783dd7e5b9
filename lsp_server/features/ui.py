"""Shared by the features: server-initiated progress and user-visible messages."""

from __future__ import annotations

import itertools
import logging
from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from ..server import CodeflowServer

__all__ = ["Progress", "show"]

log = logging.getLogger(__name__)
_progress_ids = itertools.count(1)


def show(ls: CodeflowServer, level: types.MessageType, message: str) -> None:
    """`window/showMessage` (every time: the user asked for this)."""
    ls.window_show_message(types.ShowMessageParams(level, message))


class Progress:
    """Server-initiated `$/progress` (silently absent when the client cannot show it)."""

    def __init__(self, ls: CodeflowServer, title: str) -> None:
        self.ls, self.title, self.token = ls, title, f"codeflow-work-{next(_progress_ids)}"
        self.active = False
        self._end = ""

    async def __aenter__(self) -> Progress:
        window = self.ls.client_capabilities.window
        if window and window.work_done_progress:
            try:
                await self.ls.work_done_progress.create_async(self.token)
                self.active = True
            except Exception:  # noqa: BLE001 - a client that refuses progress still gets the work
                log.debug("progress refused", exc_info=True)
        if self.active:
            begin = types.WorkDoneProgressBegin(title=self.title, cancellable=True)
            self.ls.work_done_progress.begin(self.token, begin)
        return self

    def report(self, message: str, percentage: int | None = None) -> None:
        """A progress step."""
        if self.active:
            report = types.WorkDoneProgressReport(message=message, percentage=percentage)
            self.ls.work_done_progress.report(self.token, report)

    def finish(self, message: str) -> None:
        """The message the end notification carries."""
        self._end = message

    async def __aexit__(self, *exc: object) -> None:
        if self.active:
            end = types.WorkDoneProgressEnd(message=self._end or ("cancelled" if exc[0] else ""))
            self.ls.work_done_progress.end(self.token, end)

