"""Configuration: discovery, reading, validation and resolution of bkrun.toml."""

from buildkit_runner.config.load import discover, load
from buildkit_runner.config.resolve import Config, Image

__all__ = ["Config", "Image", "discover", "load"]
