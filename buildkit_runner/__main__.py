"""Entry point for ``python -m buildkit_runner``."""

from buildkit_runner.cli import main

if __name__ == "__main__":
    main()
