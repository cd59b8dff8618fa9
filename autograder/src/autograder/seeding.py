"""Seeds: fixed ones for reproducible pages, fresh ones for hidden tests.

Hidden tests draw a fresh seed on every run, so their inputs (and so the expected outputs)
cannot be known in advance; the seed is quoted in every failure message so that the instructor,
who has the hidden test's code, can replay a failure with ``rng(seed)``.
"""

import os

import numpy as np


def fresh_seed() -> int:
    """A new seed from the operating system's entropy (32 bits, easy to quote)."""
    return int.from_bytes(os.urandom(4), "little")


def rng(seed: int | None = None) -> np.random.Generator:
    """A numpy Generator; a fresh seed when ``seed`` is None."""
    return np.random.default_rng(fresh_seed() if seed is None else seed)

