"""bkrun: build and publish container images with docker buildx from one TOML file."""

__version__ = "0.1.0"
