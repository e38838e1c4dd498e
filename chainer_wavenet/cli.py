"""What every command line shares: one-line errors, exit codes and --debug."""

import sys

from chainer_wavenet.errors import Interrupted, WaveNetError


def add_common_arguments(parser):
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback on errors")


def run(main, parser, argv=None):
    """Parse arguments and call ``main(args)``.

    A WaveNetError (a failed write among them), or running out of memory (host or GPU),
    prints one line and exits 2. A run stopped by a signal says so and exits 128 + its number.
    """
    args = parser.parse_args(argv)
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
