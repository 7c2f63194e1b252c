"""The linear relaxation of the redemption program, solved by the HiGHS simplex on one solver per thread.

Each program is handed to the thread's solver whole (`passModel`), which replaces the previous program with its
basis and solution, so a solve depends on its program alone: the same program gives the same answer on a fresh
solver or a used one. Within a program, a second objective or an added row starts from the basis of the
previous solve. A `Relaxation` is valid until the next one is made on the same thread.
"""

import os
import sys
import threading

import highspy
import numpy as np

COLUMNWISE = int(highspy.MatrixFormat.kColwise)
MAXIMIZE = int(highspy.ObjSense.kMaximize)

_local = threading.local()
_banner_shown = False


class Relaxation:
    """max c·y, A·y ≤ u, 0 ≤ y ≤ bounds; A given dense (rows × variables), handed to the solver by columns."""

    def __init__(self, matrix: np.ndarray, upper: np.ndarray, bounds: np.ndarray):
        self.size = matrix.shape[1]
        self.every = np.arange(self.size, dtype=np.int32)
        column, row = np.nonzero(matrix.T)  # by column, rows ascending within each
        starts = np.searchsorted(column, self.every).astype(np.int32)
        self.highs = _solver()
        self.highs.passModel(
            self.size, len(upper), len(row), COLUMNWISE, MAXIMIZE, 0.0, np.zeros(self.size), np.zeros(self.size),
            bounds.astype(float), np.full(len(upper), -highspy.kHighsInf), upper.astype(float),
            starts, row.astype(np.int32), matrix[row, column].astype(float),
            np.zeros(self.size, dtype=np.int32),  # every variable continuous
        )

    def maximize(self, objective: np.ndarray) -> tuple[np.ndarray, float] | None:
        """(an optimal y, the optimum), or None when the solver cannot tell."""
        self.highs.changeColsCost(self.size, self.every, objective.astype(float))
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return np.array(self.highs.getSolution().col_value), self.highs.getInfo().objective_function_value

    def require_total(self, total: int) -> None:
        """From now on Σ y = total."""
        self.highs.addRow(total, total, self.size, self.every, np.ones(self.size))


def _solver():
    """This thread's solver, made on first use."""
    highs = getattr(_local, "highs", None)
    if highs is None:
        highs = _local.highs = _new_highs()
    return highs


def _new_highs():
    """A silent solver. The library prints a banner when the first one of a process is made: that one is made
    with standard output pointed away."""
    global _banner_shown
    if _banner_shown:
        highs = highspy.Highs()
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                highs = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _banner_shown = True
    highs.setOptionValue("output_flag", False)
    # The programs are small (a cart's lines by the member's pools) and their coefficients whole kopecks or ones:
    # presolving them costs more than it saves (a plan's two solves took 0.92 ms with it, 0.75 ms without).
    highs.setOptionValue("presolve", "off")
    return highs
