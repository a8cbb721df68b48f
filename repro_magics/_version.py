"""The version of repro-magics, read by the build (hatch) and by `--version`."""

__version__ = "0.1.0"
