"""A pre-warmed ``python -m judge`` for the kill -9 tests: it imports LiteLLM and the package once,
then forks one child per command, so each of many kill/resume cycles costs milliseconds rather
than LiteLLM's 5 s start-up. A child runs exactly ``judge.cli.main.main(argv)``, as ``python -m judge``
does, and is killed with SIGKILL by the test like any process.

Protocol (one line each way): the test writes a JSON list ``[argv, stdout_path, stderr_path]``;
this process answers with the child's pid. ``["wait", pid]`` answers with its exit status.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    from judge.cli.main import main as cli_main
    from judge.judging.litellm_client import bootstrap_litellm

    bootstrap_litellm()
    import polars  # noqa: F401  (loaded by compaction; warm it too)

    print("ready", flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if request[0] == "wait":
            _, status = os.waitpid(int(request[1]), 0)
            code = os.waitstatus_to_exitcode(status)
            print(code, flush=True)
            continue
        argv, out, err = request
        pid = os.fork()
        if pid == 0:  # the child: become `python -m judge ARGV`
            try:
                for fd, path in ((1, out), (2, err)):
                    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                    os.dup2(handle, fd)
                    os.close(handle)
                sys.stdin.close()
                code = cli_main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        print(pid, flush=True)


if __name__ == "__main__":
    main()
