"""Rich renderables for the Python API's ``__rich__`` (rich REPLs and consoles).

A worked solution is rendered by the command's own code (``solve --format rich``,
ANSI text) at the width of the console that shows it, and handed to rich as
styled text; other text (a check report) is shown as it is, without reading
``[...]`` in it as rich markup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from rich.console import Console, ConsoleOptions
from rich.text import Text


class ConsoleWide:
    """ANSI text made for the width of the console that prints it."""

    def __init__(self, render: Callable[[int], str]) -> None:
        self.render = render  # columns -> ANSI text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Text]:
        text = self.render(options.max_width)
        yield Text.from_ansi(text.removesuffix("\n"), no_wrap=True, overflow="ignore")


def text_renderable(text: str) -> Text:
    """Plain text as a renderable, taken literally (no markup, no highlighting)."""
    return Text(text.removesuffix("\n"))
