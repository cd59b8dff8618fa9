"""The cross-check's array files: the one definition of their keys.

The grader writes the inputs (``inputs.npz``); the child and the solution process each write their
results (``results.npz``), which the grader reads with ``allow_pickle=False``: only numbers and
strings come back, never objects. Calls are numbered ``(check, call)``: check ``check`` of the
assignment, on its ``call``-th set of fresh inputs.

- input ``arg`` of a call: ``"{check}_{call}_{arg}"``;
- part ``part`` of what a call returned: ``"r{check}_{call}_{part}"``;
- why a call failed: ``"e{check}_{call}"`` (a string);
- the notebook cells that failed: ``"cell_errors"`` (a JSON list of strings).
"""

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CallId = tuple[int, int]  # (check, call)
Arrays = dict[str, np.ndarray]
CELL_ERRORS = "cell_errors"


def input_key(check: int, call: int, arg: int) -> str:
    return f"{check}_{call}_{arg}"


def result_key(check: int, call: int, part: int) -> str:
    return f"r{check}_{call}_{part}"


def error_key(check: int, call: int) -> str:
    return f"e{check}_{call}"


def pack_inputs(args: Mapping[CallId, Sequence]) -> Arrays:
    """The inputs file's arrays for every call's arguments."""
    return {input_key(*call_id, arg): np.asarray(value) for call_id, values in args.items()
            for arg, value in enumerate(values)}


def group_inputs(arrays: Mapping[str, np.ndarray]) -> dict[CallId, list[np.ndarray]]:
    """Every call's arguments, in order, from the inputs file's arrays."""
    numbered = sorted((tuple(int(p) for p in key.split("_")), key) for key in arrays)
    grouped: dict[CallId, list[np.ndarray]] = {}
    for (check, call, _), key in numbered:
        grouped.setdefault((check, call), []).append(arrays[key])
    return grouped


def pack_results(parts: Mapping[CallId, Sequence[np.ndarray]], errors: Mapping[CallId, str],
                 cell_errors: list[str]) -> Arrays:
    """A results file's arrays: what each call returned, why the others failed, the failed cells."""
    arrays = {result_key(*call_id, k): np.asarray(part) for call_id, values in parts.items()
              for k, part in enumerate(values)}
    arrays.update({error_key(*call_id): np.array(message) for call_id, message in errors.items()})
    arrays[CELL_ERRORS] = np.array(json.dumps(cell_errors))
    return arrays


@dataclass(frozen=True)
class Results:
    """A results file as read back. Only the keys asked for are read: whatever else the file holds
    (it was written next to student code) is ignored."""

    arrays: Arrays

    def __bool__(self) -> bool:
        return bool(self.arrays)

    def parts(self, check: int, call: int) -> list[np.ndarray] | None:
        """What one call returned, in order (None: it failed, or returned nothing)."""
        if error_key(check, call) in self.arrays:
            return None
        parts = []
        while result_key(check, call, len(parts)) in self.arrays:
            parts.append(self.arrays[result_key(check, call, len(parts))])
        return parts or None

    def error(self, check: int, call: int) -> str | None:
        """Why one call failed (None: no reason recorded)."""
        message = self.arrays.get(error_key(check, call))
        return None if message is None else str(message)

    def cell_errors(self) -> list[str]:
        """The notebook cells that failed, one line each."""
        if CELL_ERRORS not in self.arrays:
            return []
        try:
            errors = json.loads(str(self.arrays[CELL_ERRORS]))
        except ValueError:
            return ["(the list of failed cells is unreadable)"]
        return [str(e) for e in errors] if isinstance(errors, list) else [str(errors)]


def save(path: Path, arrays: Arrays) -> None:
    """Write ``arrays`` to ``path`` at once (a reader never sees half a file)."""
    tmp = Path(f"{path}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def load(path: Path) -> Arrays:
    """Every array of the file at ``path`` (numbers and strings only: no pickles)."""
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}
