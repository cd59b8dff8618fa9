"""Chapter 4 (GRU and LSTM, forward and backward, and two variants) graded end to end.

Known-wrong versions include swapped LSTM gates, a missing tanh on the cell state, the GRU update
convention reversed, a missing forget bias and a dropped cell-state gradient. A broken forward
pass loses what is built on it; a broken backward pass never costs the forward's points.
"""

from classes import KERNEL_CHEATS, Chapter, standard_tests

GSF, GSB, GF, GB = "test_gru_step_forward", "test_gru_step_backward", "test_gru_forward", "test_gru_backward"
LSF, LSB, LF, LB = "test_lstm_step_forward", "test_lstm_step_backward", "test_lstm_forward", "test_lstm_backward"
INIT = "test_init_lstm_params"
PF, PB, CF, CB = ("test_peephole_lstm_forward", "test_peephole_lstm_backward", "test_cifg_lstm_forward",
                  "test_cifg_lstm_backward")

CH = Chapter(
    assignment="04_gated_cells",
    notebook="gated_cells",
    points={GSF: 2, GSB: 3, GF: 1, GB: 2, LSF: 2, LSB: 3, LF: 1, LB: 2, INIT: 1, PF: 1, PB: 1, CF: 1, CB: 1},
    mutants={
        "lstm_input_and_forget_gates_swapped": (
            {"lstm_step_forward": [("i = sigmoid(a[:, :H])\n    f = sigmoid(a[:, H:2 * H])",
                                    "f = sigmoid(a[:, :H])\n    i = sigmoid(a[:, H:2 * H])")]},
            {LSF, LSB, LF, LB},
        ),
        "lstm_missing_tanh_on_cell_state": (
            {"lstm_step_forward": [("tc = np.tanh(c)", "tc = c")]},
            {LSF, LSB, LF, LB},
        ),
        "gru_update_convention_reversed": (
            # The step's gates and candidate are right, so its backward pass (given them) still is.
            {"gru_step_forward": [("h = z * h_prev + (1 - z) * cand", "h = (1 - z) * h_prev + z * cand")]},
            {GSF, GF, GB},
        ),
        "gru_reset_after_the_product": (
            {"gru_step_forward": [("(r * h_prev) @ Wh[:, 2 * H:]", "r * (h_prev @ Wh[:, 2 * H:])")]},
            {GSF, GSB, GF, GB},
        ),
        "gru_backward_missing_bias_gradient": (
            {"gru_backward": [("db += db_t", "pass")]},
            {GB},
        ),
        "gru_step_backward_transposed_weight": (
            {"gru_step_backward": [("drh = da_c @ Wh[:, 2 * H:].T", "drh = da_c @ Wh[:, 2 * H:]")]},
            {GSB, GB},
        ),
        "lstm_backward_drops_the_cell_gradient": (
            {"lstm_backward": [("lstm_step_backward(dh[:, t] + dh_next, dc_next, cache[t])",
                                "lstm_step_backward(dh[:, t] + dh_next, np.zeros_like(dc_next), cache[t])")]},
            {LB},
        ),
        "lstm_step_backward_ignores_c_through_h": (
            {"lstm_step_backward": [("dc_total = dc + dh * o * (1 - tc ** 2)", "dc_total = dc")]},
            {LSB, LB},
        ),
        "missing_forget_bias": (
            {"init_lstm_params": [("b[H:2 * H] = 1.0", "b[H:2 * H] = 0.0")]},
            {INIT},
        ),
        "forget_bias_on_the_input_gate": (
            {"init_lstm_params": [("b[H:2 * H] = 1.0", "b[:H] = 1.0")]},
            {INIT},
        ),
        "peephole_output_gate_sees_the_old_cell": (
            {"peephole_lstm_step_forward": [("o = sigmoid(a[:, 3 * H:] + c * p[2 * H:])",
                                             "o = sigmoid(a[:, 3 * H:] + c_prev * p[2 * H:])")]},
            {PF, PB},
        ),
        "peephole_backward_missing_dp_o": (
            {"peephole_lstm_step_backward": [("(da_o * c).sum(axis=0)", "np.zeros(H)")]},
            {PB},
        ),
        "cifg_input_gate_not_coupled": (
            {"cifg_lstm_step_forward": [("c = f * c_prev + (1 - f) * g", "c = f * c_prev + g")]},
            {CF, CB},
        ),
        "cifg_backward_treats_i_as_constant": (
            {"cifg_lstm_step_backward": [("df = dc_total * (c_prev - g)", "df = dc_total * c_prev")]},
            {CB},
        ),
    },
    cheats=KERNEL_CHEATS,
)

globals().update(standard_tests(CH))
