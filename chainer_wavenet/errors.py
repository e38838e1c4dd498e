"""The one exception type the project raises for a user's bad input."""


class WaveNetError(Exception):
    """A problem with the user's input (a file, a flag, a snapshot).

    The message is one line that names the file or flag, says what is wrong
    and, where it can, what to do. Command lines print it without a traceback.
    """
