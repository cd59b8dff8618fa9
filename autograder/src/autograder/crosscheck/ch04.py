"""Chapter 4 (04_gated_cells): GRU and LSTM cells (peephole, CIFG), forward and backward, initialisation."""

from collections.abc import Sequence

import numpy as np

from .ch01 import pick_sizes
from .ch02 import GRAD_TOL, SEQ_GRADS, backward_check
from .spec import Check, MakeArgs, Namespace, Rng

STEP_SIZES = [(3, 4, 5), (1, 2, 3), (4, 5, 2)]
SEQUENCE_SIZES = [(2, 5, 3, 4), (1, 3, 2, 2)]
LSTM_GRADS = ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db")


def step_inputs(gates: int, sizes: Sequence[tuple[int, int, int]], peephole: bool = False,
                with_cell_state: bool = False) -> MakeArgs:
    """One step's inputs: x, h_prev, (c_prev,) Wx, Wh, b for ``gates`` gates (, the peephole weights)."""

    def make(rng: Rng) -> tuple:
        N, D, H = pick_sizes(rng, sizes)
        args = [rng.standard_normal((N, D)), rng.uniform(-1, 1, (N, H))]
        if with_cell_state:
            args.append(rng.standard_normal((N, H)))
        args += [rng.standard_normal((D, gates * H)) / np.sqrt(D), rng.standard_normal((H, gates * H)) / np.sqrt(H),
                 rng.standard_normal(gates * H) * 0.5]
        if peephole:
            args.append(rng.standard_normal(3 * H))
        return tuple(args)

    return make


def step_backward_inputs(gates: int, peephole: bool = False, with_cell_state: bool = False) -> MakeArgs:
    """A step's inputs, then the upstream gradients of h (and of c, for a cell with a cell state)."""

    def make(rng: Rng) -> tuple:
        args = step_inputs(gates, [(2, 3, 4), (1, 2, 3)], peephole, with_cell_state)(rng)
        N, H = args[1].shape
        return (*args, *(rng.standard_normal((N, H)) for _ in range(2 if with_cell_state else 1)))

    return make


def sequence_inputs(gates: int, sizes: Sequence[tuple[int, int, int, int]]) -> MakeArgs:
    def make(rng: Rng) -> tuple:
        N, T, D, H = pick_sizes(rng, sizes)
        return (rng.standard_normal((N, T, D)), rng.uniform(-1, 1, (N, H)),
                rng.standard_normal((D, gates * H)) / np.sqrt(D), rng.standard_normal((H, gates * H)) / np.sqrt(H),
                rng.standard_normal(gates * H) * 0.5)

    return make


def sequence_backward_inputs(gates: int) -> MakeArgs:
    def make(rng: Rng) -> tuple:
        N, T, D, H = 2, 4, 3, 3
        return (*sequence_inputs(gates, [(N, T, D, H)])(rng), rng.standard_normal((N, T, H)))

    return make


def init_inputs(rng: Rng) -> tuple:
    return int(rng.integers(2, 6)), int(rng.integers(3, 9)), int(rng.integers(2 ** 31))


def init_results(namespace: Namespace, D: int, H: int, seed: int) -> tuple:
    """The forget bias, the shapes and whether each weight is drawn from uniform(-1/sqrt(H), 1/sqrt(H))
    (the draws themselves depend on how the generator is called)."""

    def draw(s: int) -> list[np.ndarray]:
        return [np.asarray(v, dtype=np.float64) for v in namespace["init_lstm_params"](D, H, np.random.default_rng(s))]

    Wx, Wh, b = draw(seed)
    s = 1 / np.sqrt(H)
    uniform = [float(np.all(np.abs(w) <= s) and np.abs(w).max() > s / 2 and np.std(w) > 0) for w in (Wx, Wh)]
    again, other = draw(seed), draw(seed + 1)  # the draws come from the generator it is given
    from_rng = float(all(np.array_equal(u, v) for u, v in zip(again, (Wx, Wh, b)))
                     and not np.array_equal(other[0], Wx) and not np.array_equal(other[1], Wh))
    return (b, Wx.shape, Wh.shape, *uniform, from_rng)


CHECKS = (
    Check("gru_step_forward", "gru_step_forward", ("test_gru_step_forward",), step_inputs(3, STEP_SIZES), pick=0),
    Check("gru_step_backward", "gru_step_backward", ("test_gru_step_backward",), step_backward_inputs(3),
          adapter=backward_check("gru_step_forward", "gru_step_backward", 5, 1, 5),
          labels=("dx", "dh_prev", "dWx", "dWh", "db"), **GRAD_TOL),
    Check("gru_forward", "gru_forward", ("test_gru_forward",), sequence_inputs(3, SEQUENCE_SIZES), pick=0),
    Check("gru_backward", "gru_backward", ("test_gru_backward",), sequence_backward_inputs(3),
          adapter=backward_check("gru_forward", "gru_backward", 5, 1, 5), labels=SEQ_GRADS, **GRAD_TOL),
    Check("lstm_step_forward", "lstm_step_forward", ("test_lstm_step_forward",),
          step_inputs(4, STEP_SIZES, with_cell_state=True), pick=(0, 1), labels=("h", "c")),
    Check("lstm_step_backward", "lstm_step_backward", ("test_lstm_step_backward",),
          step_backward_inputs(4, with_cell_state=True),
          adapter=backward_check("lstm_step_forward", "lstm_step_backward", 6, 2, 6), labels=LSTM_GRADS, **GRAD_TOL),
    Check("lstm_forward", "lstm_forward", ("test_lstm_forward",), sequence_inputs(4, SEQUENCE_SIZES), pick=0),
    Check("lstm_backward", "lstm_backward", ("test_lstm_backward",), sequence_backward_inputs(4),
          adapter=backward_check("lstm_forward", "lstm_backward", 5, 1, 5), labels=SEQ_GRADS, **GRAD_TOL),
    Check("init_lstm_params", "init_lstm_params", ("test_init_lstm_params",), init_inputs, adapter=init_results,
          labels=("b", "shape of Wx", "shape of Wh", "Wx uniform in the bounds", "Wh uniform in the bounds",
                  "weights drawn from the given generator")),
    Check("peephole_lstm_step_forward", "peephole_lstm_step_forward", ("test_peephole_lstm_forward",),
          step_inputs(4, [(3, 4, 5)], peephole=True, with_cell_state=True), pick=(0, 1), labels=("h", "c")),
    Check("peephole_lstm_step_backward", "peephole_lstm_step_backward", ("test_peephole_lstm_backward",),
          step_backward_inputs(4, peephole=True, with_cell_state=True),
          adapter=backward_check("peephole_lstm_step_forward", "peephole_lstm_step_backward", 7, 2, 7),
          labels=(*LSTM_GRADS, "dp"), **GRAD_TOL),
    Check("cifg_lstm_step_forward", "cifg_lstm_step_forward", ("test_cifg_lstm_forward",),
          step_inputs(3, [(3, 4, 5)], with_cell_state=True), pick=(0, 1), labels=("h", "c")),
    Check("cifg_lstm_step_backward", "cifg_lstm_step_backward", ("test_cifg_lstm_backward",),
          step_backward_inputs(3, with_cell_state=True),
          adapter=backward_check("cifg_lstm_step_forward", "cifg_lstm_step_backward", 6, 2, 6),
          labels=LSTM_GRADS, **GRAD_TOL),
)
