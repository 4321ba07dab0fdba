"""The ``greenft`` Typer app and what every command shares: the console and the user-error contract.

A user error (bad config, unknown dataset/model, unreadable file or checkpoint) prints one line naming the
problem and exits with code 2; nothing else is printed, no traceback. Click's own usage errors (an unknown
option or command, a value of the wrong type) follow the same contract through :class:`OneLineErrorGroup`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from typer.core import TyperGroup

from greenft.errors import GreenftWarning, UserError
from greenft.signals import command_process

try:  # Typer 0.2x parses with its own copy of Click; older Typer with the click package
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors  # type: ignore[no-redef]

HELP_MARKUP: None = None
"""Help texts are shown as written, never parsed as rich markup: option help such as ``wandb:E/P[/SWEEP]`` made
``--help`` crash with a MarkupError. Every Typer group is built by :func:`command_group` with this setting."""


@contextmanager
def _usage_errors_as_one_line() -> Iterator[None]:
    """Click's usage errors as :func:`fail`'s one line (click prints usage, a hint and ``Error:`` on three).

    A group's ``no_args_is_help`` is not an error the user made a typo in: its help is printed as before.
    """
    try:
        yield
    except click_errors.NoArgsIsHelpError:
        raise
    except click_errors.ClickException as err:
        ctx = getattr(err, "ctx", None)
        where = f"; see '{ctx.command_path} --help'" if ctx is not None else ""
        fail(err.format_message().rstrip(".") + where)


class OneLineErrorGroup(TyperGroup):
    """Every ``greenft`` group: parses the command line through :func:`_usage_errors_as_one_line`.

    The top group's :meth:`make_context` parses ``greenft``'s own options; its :meth:`invoke` resolves and
    parses the subcommand (and the subgroups theirs), so both are wrapped.
    """

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        with _usage_errors_as_one_line():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Any) -> Any:
        with _usage_errors_as_one_line():
            return super().invoke(ctx)


def command_group(help: str, typer_class: type[typer.Typer] = typer.Typer, **options: Any) -> typer.Typer:
    """A ``greenft`` command group: the one place where Typer's settings shared by every group live."""
    return typer_class(help=help, no_args_is_help=True, rich_markup_mode=HELP_MARKUP, cls=OneLineErrorGroup, **options)


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
    typer_class=GreenftApp,
    add_completion=False,
)
console = Console()

USER_ERRORS: tuple[type[Exception], ...] = (UserError,)
"""What a command turns into one line and exit code 2: every error class a user can fix derives from
:class:`~greenft.errors.UserError`, in the layer that raises it, so this tuple never needs editing."""


def one_line(message: str) -> str:
    """``message`` on one line: a message listing several problems on indented lines (a pydantic validation)
    keeps them all, joined with ``; `` (after its heading's colon, a space)."""
    parts = [line.strip() for line in message.splitlines() if line.strip()]
    out = parts[0] if parts else ""
    for part in parts[1:]:
        out += (" " if out.endswith(":") else "; ") + part
    return out


def fail(err: BaseException | str, code: int = 2) -> NoReturn:
    """Print ``error: <message>`` on one line and exit with ``code``: 2 (a user error) unless told otherwise, e.g. 1
    for a run greenft cannot stand behind. The message is printed as plain text: it quotes user input and names
    such as ``greenft[postgres]`` or an IPv6 host ``[::1]`` that rich markup would swallow."""
    console.print("[bold red]error:[/] ", end="")
    console.print(one_line(str(err)), markup=False, highlight=False, soft_wrap=True)
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
