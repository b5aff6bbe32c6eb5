"""Errors of the segmentation package."""


class SegmentationError(ValueError):
    """Bad input to a segmentation function or file; the message names the argument/file, expected vs received."""
