"""The exceptions the project raises for what a user has to act on."""


class WaveNetError(Exception):
    """A problem with the user's input (a file, a flag, a snapshot).

    The message is one line that names the file or flag, says what is wrong
    and, where it can, what to do. Command lines print it without a traceback.
    """


class WriteError(WaveNetError):
    """A file could not be written (a full disk, a read-only or too small file system).

    The file's previous version, if any, is intact and no temporary file is left.
    """


class Interrupted(BaseException):
    """SIGTERM or SIGINT stopped the program; ``status`` is its exit status.

    A BaseException, like KeyboardInterrupt: it passes through handlers of ordinary errors.
    """

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status
