"""A warm parent for the kill -9 tests (no tests here).

Starting Python, importing Vigie and loading the model take seconds; twenty-odd kills would spend
most of a test's time there. This process pays that once, then forks a fresh scheduler per
request: each child runs ``monitor.cli.main(argv)``, exactly what ``python -m monitor`` runs, and
is the process the test kills. A child writes its Python stack on SIGUSR1, so the test knows which
stage each kill lands in.

The stack is written by a Python signal handler, which runs in the main thread between two
bytecodes (a blocking call such as awaiting the SMTP server's reply is interrupted for it, then
resumed). ``faulthandler.register`` was used first: it dumps from inside the C signal handler, at
any instruction, and about one child in twenty crashed with SIGSEGV or SIGBUS while scoring
(reproduced outside the test; never with this handler).

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
from types import FrameType

STARTED = "-- started --\n"
END_OF_STACK = "-- end of stack --\n"


def _child(argv: list[str], stack_fd: int) -> None:
    """Run one scheduler; never returns (``os._exit`` keeps the parent's state out of it).

    It first says it has started: a signal that arrives before Python has reset its signal state
    after the fork is dropped, and the test would wait for ever for that stack."""
    from monitor.cli import main

    os.write(stack_fd, STARTED.encode())
    faulthandler.enable()  # a crash prints its stacks to the zygote's log, which the test shows
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


def _stack_writer(fd: int):
    """A SIGUSR1 handler writing the interrupted stack to ``fd`` in one write, then a marker."""

    def write_stack(_signum: int, frame: FrameType | None) -> None:
        os.write(fd, ("".join(traceback.format_stack(frame)) + END_OF_STACK).encode())

    return write_stack


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
        # Installed before the fork, so the child answers SIGUSR1 from its very first instant.
        with open(request["dump"], "w", encoding="utf-8") as stack_file:
            signal.signal(signal.SIGUSR1, _stack_writer(stack_file.fileno()))
            pid = os.fork()
            if pid == 0:
                _child(request["argv"], stack_file.fileno())
            signal.signal(signal.SIGUSR1, signal.SIG_DFL)
        _reply(pid=pid)
        _, status = os.waitpid(pid, 0)
        _reply(status=os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    serve()
