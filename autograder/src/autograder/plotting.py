"""Figures for the course book, drawn with matplotlib at build time.

Only drawing code lives here (no exercise solutions). Each function draws into ``ax`` when one
is given, otherwise into a new figure, and returns the matplotlib ``Figure``.
"""

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

__all__ = ["WEIGHT_COLORS", "draw_unrolled_rnn", "plot_history"]

# One colour per weight matrix, the same at every time step: the weights are shared (tied).
WEIGHT_COLORS = {"xh": "#1f77b4", "hh": "#d62728", "hy": "#2ca02c"}

_NODE_STYLE = {
    "x": {"facecolor": "#e8f1fa", "edgecolor": "#1f77b4"},
    "h": {"facecolor": "#fdecea", "edgecolor": "#d62728"},
    "s": {"facecolor": "#e9f6e9", "edgecolor": "#2ca02c"},
    "h0": {"facecolor": "#f4f4f4", "edgecolor": "#888888"},
}
_W, _H = 0.62, 0.46  # node box width and height, in data units
_ROW_Y = {"x": 0.0, "h": 1.6, "s": 3.2}


def _node(ax, x, y, text, kind, *, dashed=False):
    ax.add_patch(FancyBboxPatch((x - _W / 2, y - _H / 2), _W, _H, boxstyle="round,pad=0.04,rounding_size=0.12",
                                linewidth=1.6, linestyle="--" if dashed else "-", **_NODE_STYLE[kind]))
    ax.text(x, y, text, ha="center", va="center", fontsize=13)


def _arrow(ax, start, end, color, *, label=None, label_offset=(0.0, 0.0), rad=0.0, lw=1.6):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=13, color=color, linewidth=lw,
                                 connectionstyle=f"arc3,rad={rad}", shrinkA=0, shrinkB=0))
    if label:
        mx, my = (start[0] + end[0]) / 2 + label_offset[0], (start[1] + end[1]) / 2 + label_offset[1]
        ax.text(mx, my, label, ha="center", va="center", fontsize=10, color=color)


def _column(ax, x, t_label):
    """Input, hidden state and scores of one time step, with the vertical arrows between them."""
    _node(ax, x, _ROW_Y["x"], rf"$x_{{{t_label}}}$", "x")
    _node(ax, x, _ROW_Y["h"], rf"$h_{{{t_label}}}$", "h")
    _node(ax, x, _ROW_Y["s"], rf"$s_{{{t_label}}}$", "s")
    gap = _H / 2 + 0.05
    _arrow(ax, (x, _ROW_Y["x"] + gap), (x, _ROW_Y["h"] - gap), WEIGHT_COLORS["xh"],
           label=r"$W_{xh}$", label_offset=(0.36, 0.0))
    _arrow(ax, (x, _ROW_Y["h"] + gap), (x, _ROW_Y["s"] - gap), WEIGHT_COLORS["hy"],
           label=r"$W_{hy}$", label_offset=(0.36, 0.0))


def draw_unrolled_rnn(T=4, ax=None):
    """The rolled RNN cell with its self-loop, next to the same network unrolled over ``T`` steps.

    Left: $x_t \\to h_t \\to s_t$ with the recurrent loop $W_{hh}$ on $h_t$. Right: the chain
    $h_0 \\to h_1 \\to \\dots \\to h_T$, each step reading $x_t$ and emitting scores $s_t$. Arrows of one
    weight matrix have one colour at every step: the same matrices are used at every time step.
    Returns the Figure.
    """
    T = int(T)
    if T < 1:
        raise ValueError(f"T must be at least 1, got {T}")
    step = 1.45
    x_rolled, x_h0 = 0.0, 3.0
    x_first = x_h0 + step
    x_last = x_first + (T - 1) * step
    width = x_last + 0.9 - (-0.9)
    if ax is None:
        fig, ax = plt.subplots(figsize=(0.95 * width, 3.4))
    else:
        fig = ax.figure

    # The rolled cell: one column and a loop from h_t back into itself.
    _column(ax, x_rolled, "t")
    hy = _ROW_Y["h"]
    ax.add_patch(FancyArrowPatch((x_rolled + _W / 2 + 0.04, hy - 0.12), (x_rolled + _W / 2 + 0.04, hy + 0.12),
                                 arrowstyle="-|>", mutation_scale=13, color=WEIGHT_COLORS["hh"], linewidth=1.6,
                                 connectionstyle="arc,angleA=0,angleB=0,armA=30,armB=30,rad=8",
                                 shrinkA=0, shrinkB=0))
    ax.text(x_rolled + _W / 2 + 0.62, hy, r"$W_{hh}$", ha="left", va="center", fontsize=10,
            color=WEIGHT_COLORS["hh"])
    ax.text(x_rolled, _ROW_Y["s"] + 0.62, "rolled", ha="center", va="bottom", fontsize=11, style="italic")

    # "unroll" arrow between the two drawings.
    mid = (x_rolled + x_h0) / 2 + 0.45
    ax.add_patch(FancyArrowPatch((mid - 0.35, hy), (mid + 0.35, hy), arrowstyle="simple", mutation_scale=22,
                                 color="#555555"))
    ax.text(mid, hy + 0.32, "unroll", ha="center", va="bottom", fontsize=10, color="#555555")

    # The unrolled chain h_0 -> h_1 -> ... -> h_T.
    _node(ax, x_h0, hy, r"$h_0$", "h0", dashed=True)
    previous = x_h0
    for t in range(1, T + 1):
        x = x_first + (t - 1) * step
        _column(ax, x, str(t))
        _arrow(ax, (previous + _W / 2 + 0.04, hy), (x - _W / 2 - 0.04, hy), WEIGHT_COLORS["hh"],
               label=r"$W_{hh}$", label_offset=(0.0, 0.22))
        previous = x
    ax.text((x_first + x_last) / 2, _ROW_Y["s"] + 0.62, f"unrolled over T = {T} time steps",
            ha="center", va="bottom", fontsize=11, style="italic")

    ax.set_xlim(-0.9, x_last + 0.9)
    ax.set_ylim(_ROW_Y["x"] - 0.5, _ROW_Y["s"] + 1.05)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


if __name__ == "__main__":  # a quick look: python -m autograder.plotting OUT.png
    import sys

    figure = draw_unrolled_rnn()
    figure.savefig(sys.argv[1] if len(sys.argv) > 1 else "unrolled_rnn.png", dpi=120, bbox_inches="tight")


def plot_history(history, axes=None, label=None):
    """Loss and accuracy per epoch, training (solid) and validation (dashed), on two axes.

    ``history`` is a Keras ``History`` or its ``.history`` dict (``loss``, ``accuracy``,
    ``val_loss``, ``val_accuracy``). Call it again with the returned figure's axes to overlay
    several runs.
    """
    h = getattr(history, "history", history)
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    fig = axes[0].figure
    epochs = range(1, len(h["loss"]) + 1)
    for ax, key, title in ((axes[0], "loss", "cross-entropy"), (axes[1], "accuracy", "accuracy")):
        line, = ax.plot(epochs, h[key], label=f"{label + ', ' if label else ''}training")
        if f"val_{key}" in h:
            ax.plot(epochs, h[f"val_{key}"], "--", color=line.get_color(),
                    label=f"{label + ', ' if label else ''}validation")
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    axes[1].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
