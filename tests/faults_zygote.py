"""A warm parent for the kill -9 tests (no tests here).

Starting Python, importing Vigie and loading the model take seconds; twenty-odd kills would spend
most of a test's time there. This process pays that once, then forks a fresh scheduler per
request: each child runs ``monitor.cli.main(argv)``, exactly what ``python -m monitor`` runs, and
is the process the test kills. A child dumps its Python stack on SIGUSR1 (``faulthandler``), so
the test knows which stage each kill lands in.

Protocol, one JSON object per line: the test writes ``{"argv": [...], "dump": path}``; this
process answers ``{"pid": n}`` at once and ``{"status": code}`` when the child has ended.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import sys
import traceback


def _child(argv: list[str]) -> None:
    """Run one scheduler; never returns (``os._exit`` keeps the parent's state out of it)."""
    from monitor.cli import main

    os.dup2(2, 1)  # stdout is the protocol pipe: the child's prints go to stderr
    code = 1
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    sys.stderr.flush()
    os._exit(code)


def _reply(**fields: object) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def serve() -> None:
    """Warm up (imports, model, first prediction), then fork a child per request."""
    import monitor.cli  # noqa: F401  (imported for the children)
    from monitor.scoring import load_model

    load_model(None).predict(["warm-up"])
    _reply(ready=True)
    for line in sys.stdin:
        request = json.loads(line)
        # Registered before the fork, so the child answers SIGUSR1 from its very first instant.
        with open(request["dump"], "w", encoding="utf-8") as stack_file:
            faulthandler.register(signal.SIGUSR1, file=stack_file, all_threads=True)
            pid = os.fork()
            if pid == 0:
                _child(request["argv"])
            faulthandler.unregister(signal.SIGUSR1)
        _reply(pid=pid)
        _, status = os.waitpid(pid, 0)
        _reply(status=os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    serve()
