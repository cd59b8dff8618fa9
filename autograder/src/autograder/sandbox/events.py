"""What the sandbox launcher tells the grader: events as structured lines, written and read here only.

The launcher's stderr ends up in the grading log (nbgrader's log, or the cross-check child's
output). Each event is one line, ``autograder.sandbox event: {"event": NAME, ...}``; the grader
finds them with :func:`found` and never matches free text.
"""

import json
import sys

PREFIX = "autograder.sandbox event: "

IGNORED_INTERRUPT = "ignored-interrupt"  # two interrupts within 1.5 cell timeouts: the sandbox was stopped
MEMORY_LIMIT = "memory-limit"  # the memory cgroup killed a process
PROCESS_LIMIT = "process-limit"  # the pids cgroup refused a fork
SETUP_FAILED = "setup-failed"  # the sandbox could not be started (detail: bubblewrap's message)
EVENTS = (IGNORED_INTERRUPT, MEMORY_LIMIT, PROCESS_LIMIT, SETUP_FAILED)


def emit(event: str, stream=None, **detail) -> None:
    """Write one event line (to stderr by default)."""
    if event not in EVENTS:
        raise ValueError(f"unknown sandbox event {event!r}")
    print(PREFIX + json.dumps({"event": event, **detail}, sort_keys=True), file=stream or sys.stderr, flush=True)


def parse(text: str) -> list[dict]:
    """Every event in ``text`` (a log), in order; lines that are not events are ignored."""
    found = []
    for line in text.splitlines():
        _, sep, payload = line.partition(PREFIX)
        if not sep:
            continue
        try:
            record = json.loads(payload)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("event") in EVENTS:
            found.append(record)
    return found


def found(text: str) -> set[str]:
    """The names of the events in ``text``."""
    return {record["event"] for record in parse(text)}
