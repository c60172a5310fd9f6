"""Progress bars on standard error, for runs long enough to wait on.

On stderr, and transient: the report on standard output stays clean for a pipe or
a file, and nothing of the bar is left on the terminal when the run ends. rich is
imported only when a bar is made (the commands decide whether to show one).
"""

from __future__ import annotations

from backprop_cli.numfmt import format_number

REDRAWS = 200  # updates drawn over a whole run, however many steps it has


class ProgressBar:
    """``label [████    ] 120/1000`` and, for training, the latest loss."""

    def __init__(self, label: str, total: int, *, show_loss: bool = False) -> None:
        # lazy: rich costs start-up time that runs without a bar never pay
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        columns: list[ProgressColumn | str] = [TextColumn(label), BarColumn(),
                                               MofNCompleteColumn()]
        if show_loss:
            columns.append(TextColumn("loss {task.fields[loss]}"))
        columns.append(TimeRemainingColumn())
        self.progress = Progress(*columns, console=Console(stderr=True), transient=True)
        self.task = self.progress.add_task(label, total=total, loss="…")
        self.total = total
        self.done = 0
        self.stride = max(1, total // REDRAWS)
        self.progress.start()

    def advance(self, count: int) -> None:
        """``count`` more done; the bar closes when all are."""
        self.done += count
        self.progress.advance(self.task, count)
        if self.done >= self.total:
            self.close()

    def update(self, done: int, loss: float) -> None:
        """``done`` steps run, the last with this loss (redrawn every ``stride`` steps)."""
        if done % self.stride == 0:
            self.progress.update(self.task, completed=done, loss=format_number(loss, 4))

    def close(self) -> None:
        self.progress.stop()
