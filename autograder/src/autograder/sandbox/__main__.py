"""``python -m autograder.sandbox kernel CONNECTION_FILE [ARGS...] | run -- CMD...`` (settings in $AUTOGRADER_SANDBOX)."""

import sys
from pathlib import Path

from ..errors import SandboxError
from . import events
from .launcher import launch
from .settings import Settings

# What ``python -m ipykernel_launcher`` does, without the debugger: ipykernel imports debugpy at
# every start whenever it is installed (about a tenth of a second, measured with -X importtime),
# and nobody debugs a notebook that is being graded.
KERNEL_MAIN = ("import sys\n"
               "sys.modules['debugpy'] = None\n"
               "if sys.path[0] == '':\n"
               "    del sys.path[0]\n"
               "from ipykernel import kernelapp\n"
               "kernelapp.launch_new_instance()\n")
USAGE = "usage: python -m autograder.sandbox kernel CONNECTION_FILE [ARGS...] | run -- CMD..."


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("kernel", "run") or (argv[0] == "kernel" and len(argv) < 2):
        print(USAGE, file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
        copies = {}
        if argv[0] == "kernel":  # ipykernel reads a copy of the connection file, next to it inside
            connection, extra = Path(argv[1]).resolve(), argv[2:]
            inside = str(Path.cwd().resolve() / connection.name)
            copies[inside] = connection
            command = [sys.executable, "-c", KERNEL_MAIN, "-f", inside, *extra]
        else:
            command = argv[2:] if argv[1:2] == ["--"] else argv[1:]
        return launch(command, settings, copies=copies)
    except SandboxError as exc:
        events.emit(events.SETUP_FAILED, detail=str(exc))
        print(f"autograder.sandbox: {exc}", file=sys.stderr, flush=True)
        return 70


if __name__ == "__main__":
    sys.exit(main())
