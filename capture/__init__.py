"""The capture pipeline and its command-line interface: stages, resume, executors, outputs, report, viewer.

This is the only package that knows the whole pipeline; every other package is a stage or a tool it calls.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("multicap")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
