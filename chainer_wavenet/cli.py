"""What every command line shares: one-line errors, exit codes, --debug, integer lists."""

import argparse
import sys

from chainer_wavenet.allocator import keep_freed_memory
from chainer_wavenet.errors import Interrupted, WaveNetError


def add_common_arguments(parser):
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback on errors")


def int_list(text):
    """Parse "0,24,40" or "48:72:2" (start:stop:step, stop included) into a list of ints."""
    try:
        if ":" in text:
            start, stop, *step = (int(x) for x in text.split(":"))
            return list(range(start, stop + 1, step[0] if step else 1))
        return [int(x) for x in text.split(",") if x.strip()]
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected integers like 0,24,40 or a range like 48:72:2"
        ) from None


def run(main, parser, argv=None):
    """Parse arguments and call ``main(args)``, large allocations reusing freed memory
    (:mod:`chainer_wavenet.allocator`).

    A WaveNetError (a failed write among them), or running out of memory (host or GPU),
    prints one line and exits 2. A run stopped by a signal says so and exits 128 + its number.
    """
    args = parser.parse_args(argv)
    keep_freed_memory()
    try:
        main(args)
    except WaveNetError as error:
        if args.debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except MemoryError as error:
        if args.debug:
            raise
        print(f"error: out of memory ({error}); ask for less at once: a smaller batch, "
              f"crop or generated length, or model", file=sys.stderr)
        sys.exit(2)
    except Interrupted as stop:
        if str(stop):
            print(stop, file=sys.stderr)
        sys.exit(stop.status)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
