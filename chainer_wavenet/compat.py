"""Lets Chainer 7.8.1 import on Python 3.11-3.13 with NumPy 1.26 or 2.x.

Import this module before ``chainer``. It only adds what is missing and never
changes what an existing NumPy function does:

* ``np.sctypes`` (removed in NumPy 2) is defined when absent, because
  ``chainer.functions.array.as_strided`` reads it at import time.
* ``chainer._environment_check`` is registered as a module whose ``check()``
  does nothing; the real one imports ``numpy.distutils`` and
  ``pkg_resources``, which are gone from today's Python and setuptools.
"""

import sys
import types

import numpy as np

if not hasattr(np, "sctypes"):
    np.sctypes = {
        "int": [np.int8, np.int16, np.int32, np.int64],
        "uint": [np.uint8, np.uint16, np.uint32, np.uint64],
        "float": [np.float16, np.float32, np.float64, np.longdouble],
        "complex": [np.complex64, np.complex128, np.clongdouble],
        "others": [bool, object, bytes, str, np.void],
    }

if "chainer._environment_check" not in sys.modules:
    _check = types.ModuleType("chainer._environment_check")
    _check.check = lambda: None
    sys.modules["chainer._environment_check"] = _check
