"""`backprop check PATH...`: judge the expected answers of many problem files."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import click

from backprop_cli.cli.common import format_option, write_output


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@format_option("check", None,
               "Report format (default: text; github when GITHUB_ACTIONS is set).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the report to FILE instead of standard output.")
@click.option("--show-errata", is_flag=True,
              help="List the published values marked as errata, with their corrections.")
@click.option("--verbose", "-v", is_flag=True, help="List every value, not only wrong ones.")
@click.option("--exclude", "exclude", multiple=True, metavar="GLOB",
              help="Leave out files and folders matching GLOB (repeatable), e.g. "
                   "--exclude 'drafts/*'. Hidden files and folders are left out unless named.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Worker processes for large folders (default: all cores).")
@click.option("--min-digits", type=click.IntRange(min=1, max=17), default=None, metavar="N",
              help="Values written with fewer significant digits are imprecise (a failure) "
                   "unless right to N digits anyway; overrides a file's min_digits.")
def check(paths: tuple[str, ...], fmt: str | None, output: str | None, show_errata: bool,
          verbose: bool, exclude: tuple[str, ...], jobs: int | None,
          min_digits: int | None) -> None:
    """Check the `expected` answers in problem files, folders or globs.

    Each value is correct (the exact value rounded or truncated to the digits
    written), consistent (what the step gives from the author's own earlier
    numbers, rounded or carried forward), wrong (with the slip named when one
    fits), imprecise (fewer digits than --min-digits) or a marked erratum. The
    report names the first wrong value of each file. Folders are searched
    recursively, hidden files and folders left out; a YAML file that is not a
    problem file (none of its top-level keys is one) is skipped. Exit status: 0 when every
    file passed, 1 when a value is wrong or a file is invalid, 2 for usage errors.

    \b
    Examples:
      backprop check problems/
      backprop check problems/ --format junit --output report.xml
      backprop check 'course/**/*.yaml' --show-errata
      backprop check week1.yaml week2.yaml --format json
      backprop check problems/ --min-digits 3
    """
    from backprop_cli.app.batch_check import UsageError, check_files, discover

    try:
        files = discover(paths, exclude)
    except UsageError as error:
        raise click.UsageError(str(error)) from None
    if fmt is None:
        fmt = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    reports = check_files(files, jobs=jobs, progress=_progress_bar(len(files)),
                          min_digits=min_digits)
    from backprop_cli.render import check_reports as writers

    if fmt == "json":
        text = writers.json_report(reports)
    elif fmt == "junit":
        text = writers.junit_report(reports)
    elif fmt == "github":
        text = writers.github_report(reports, show_errata)
        writers.append_step_summary(reports)
    else:
        to_terminal = output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        text = writers.text_report(reports, style=click.style if to_terminal else _no_style,
                                   show_errata=show_errata, verbose=verbose)
    write_output(text, output, commands=fmt == "github")
    if any(report.status in ("failed", "invalid") for report in reports):
        sys.exit(1)


def _no_style(text: str, **_: object) -> str:
    return text


# A bar for runs long enough to wait on, and only where a person watches stderr.
PROGRESS_MIN_FILES = 50


def _progress_bar(total: int) -> Callable[[int], None] | None:
    if total < PROGRESS_MIN_FILES or not sys.stderr.isatty():
        return None
    from backprop_cli.render.progress import ProgressBar

    return ProgressBar("checking", total).advance
