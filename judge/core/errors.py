"""The project's errors, one small hierarchy.

    JudgeError                  anything the CLI reports as one clean line
    ├── InputError              bad user input; exit code 2, nothing judged
    │   ├── ConfigError         config file or command-line option
    │   ├── DatasetError        dataset file: format, row, field
    │   ├── RubricError         rubric or prompt file, unknown rubric id or version
    │   └── TemplateError       template variables missing or unknown
    ├── RunDirError             run directory missing, locked, unwritable, or not resumable (exit 2)
    ├── ReplayMiss              --replay asked for a reply that is not in the cache (exit 2)
    ├── BudgetExhausted         the spending cap stopped the run (exit 3)
    ├── RegressionFound         compare found a regression past the gate (exit 4)
    └── RunInterrupted          Ctrl-C or SIGTERM while a judged run was being finished (exit 130);
                                also a KeyboardInterrupt, so ``except KeyboardInterrupt`` sees it

Exit codes: 0 done; 1 unexpected failure; 2 bad input; 3 budget reached; 4 regression found;
5 degraded (the run finished, but a judge produced no ok verdict, or more errors than the run's
max_error_share: the manifest's ``health`` names it and why; ``compare --fail-on-regression``
exits 5 too when either run is degraded, or a rubric both runs hold has no paired item: the gate
cannot vouch for the new run); 130 interrupted.

Messages say what went wrong, where (file, line, field), and how to fix it. The CLI is the only
place these are caught and turned into exit codes; unexpected exceptions keep their traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INPUT = 2
EXIT_BUDGET = 3
EXIT_REGRESSION = 4
EXIT_DEGRADED = 5
EXIT_INTERRUPTED = 130


class JudgeError(Exception):
    """Base class: an error whose message is fit to show a user as is."""

    exit_code = EXIT_FAILURE


class InputError(JudgeError):
    exit_code = EXIT_INPUT


class ConfigError(InputError):
    pass


class DatasetError(InputError):
    pass


class RubricError(InputError):
    pass


class TemplateError(InputError):
    pass


class RunDirError(JudgeError):
    exit_code = EXIT_INPUT


class ReplayMiss(JudgeError):
    exit_code = EXIT_INPUT


class BudgetExhausted(JudgeError):
    exit_code = EXIT_BUDGET


class RegressionFound(JudgeError):
    exit_code = EXIT_REGRESSION


class RunInterrupted(JudgeError, KeyboardInterrupt):
    """Interrupted after judging, while the summary or report was written: every verdict is in
    the log, the manifest says ``interrupted``, and the message says how to finish the run."""

    exit_code = EXIT_INTERRUPTED


def one_line(text: str) -> str:
    """``text`` safe to print as one terminal line: control characters (newlines, escape
    sequences from a dataset id) and other unprintable ones are shown as escapes."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return " (did you mean 'x'?)" for a near miss, or "" when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
