"""What training prints: a table of report lines, with a progress bar on a terminal only."""

import sys

from chainer.training import extensions

# The code PrintReport writes before each line to clear what a progress bar drew below it.
_CLEAR_BELOW = "\033[J"


class _WithoutCursorCodes:
    """A text stream that passes everything on but PrintReport's clear-below code."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        return self.stream.write(text.replace(_CLEAR_BELOW, ""))

    def flush(self):
        self.stream.flush()


def report_extensions(entries, interval, out=None):
    """PrintReport of ``entries``, and a ProgressBar updated every ``interval`` steps when
    ``out`` (default stdout) is a terminal; into a file or pipe, plain report lines only."""
    out = sys.stdout if out is None else out
    if out.isatty():
        return [extensions.PrintReport(entries, out=out),
                extensions.ProgressBar(update_interval=interval, out=out)]
    return [extensions.PrintReport(entries, out=_WithoutCursorCodes(out))]
