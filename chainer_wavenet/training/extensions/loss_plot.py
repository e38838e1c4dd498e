"""A plot of the training and validation loss, written atomically."""

import os

import numpy as np
from chainer.training import extension

from chainer_wavenet.files import atomic_path


class LossPlot(extension.Extension):
    """Plots reported values (e.g. training and validation bits) against iterations as PNG."""

    trigger = (1, "epoch")
    priority = extension.PRIORITY_READER

    def __init__(self, keys, filename="loss.png", ylabel="bits per sample"):
        self.keys = keys
        self.filename = filename
        self.ylabel = ylabel

    def __call__(self, trainer):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        log = trainer.get_extension("LogReport").log
        figure = Figure(figsize=(6, 4))
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        for key in self.keys:
            points = np.array([(e["iteration"], e[key]) for e in log if key in e])
            if len(points):
                axes.plot(points[:, 0], points[:, 1], marker="." if len(points) < 30 else None,
                          label=key)
        axes.set_xlabel("iteration")
        axes.set_ylabel(self.ylabel)
        axes.grid(alpha=0.3)
        if axes.lines:
            axes.legend()
        path = os.path.join(trainer.out, self.filename)
        with atomic_path(path, force=True) as temporary:
            figure.savefig(temporary, dpi=100)
