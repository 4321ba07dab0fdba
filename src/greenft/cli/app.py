"""The ``greenft`` Typer app and what every command shares: the console and the user-error contract.

A user error (bad config, unknown dataset/model, unreadable file or checkpoint) prints one line naming the
problem and exits with code 2; nothing else is printed, no traceback.
"""

from __future__ import annotations

import warnings
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from greenft.errors import GreenftWarning, UserError
from greenft.signals import command_process

HELP_MARKUP: None = None
"""Help texts are shown as written, never parsed as rich markup: option help such as ``wandb:E/P[/SWEEP]`` made
``--help`` crash with a MarkupError. Every Typer group is built by :func:`command_group` with this setting."""


def command_group(help: str, cls: type[typer.Typer] = typer.Typer, **options: Any) -> typer.Typer:
    """A ``greenft`` command group: the one place where Typer's settings shared by every group live."""
    return cls(help=help, no_args_is_help=True, rich_markup_mode=HELP_MARKUP, **options)


class GreenftApp(typer.Typer):
    """The ``greenft`` command itself: every command runs under :func:`greenft.signals.command_process`
    (SIGTERM/SIGHUP end it like Ctrl-C, exit 130; a closed stdout silences the output, not the work).

    Why here: ``python -m greenft`` and the ``greenft`` script both call ``app()``, and nothing else does
    (tests invoking commands in-process go through Click and keep their own signal handlers and streams)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with command_process():
            return super().__call__(*args, **kwargs)


app = command_group(
    "greenft: fine-tune molecular property predictors, measure CO2 per epoch, stop with AN-GES.",
    cls=GreenftApp,
    add_completion=False,
)
console = Console()

USER_ERRORS: tuple[type[Exception], ...] = (UserError,)
"""What a command turns into one line and exit code 2: every error class a user can fix derives from
:class:`~greenft.errors.UserError`, in the layer that raises it, so this tuple never needs editing."""


def fail(err: BaseException | str, code: int = 2) -> NoReturn:
    """Print ``error: <message>`` and exit with ``code``: 2 (a user error) unless told otherwise, e.g. 1 for a run
    greenft cannot stand behind. The message is printed as plain text: it quotes user input and names such as
    ``greenft[postgres]`` or an IPv6 host ``[::1]`` that rich markup would swallow."""
    console.print("[bold red]error:[/] ", end="")
    console.print(str(err), markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code=code)


def warn(message: str) -> None:
    """Print ``warning: <message>`` on one line (plain text, as :func:`fail`): something the user should know,
    greenft carries on."""
    console.print("[bold yellow]warning:[/] ", end="")
    console.print(message, markup=False, highlight=False, soft_wrap=True)


_python_showwarning = warnings.showwarning


def _show_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    """A :class:`~greenft.errors.GreenftWarning` from any layer as one ``warning:`` line; other warnings as Python
    shows them (file, line and source: they are for developers)."""
    if issubclass(category, GreenftWarning):
        warn(str(message))
    else:
        _python_showwarning(message, category, filename, lineno, file, line)


warnings.showwarning = _show_warning


def progress_bar() -> Progress:
    """The transient bar (description, bar, n/total, elapsed) that ``train``, ``analyze`` and ``tune`` show."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
