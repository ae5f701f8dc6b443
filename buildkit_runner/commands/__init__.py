"""One module per command; each exposes ``run(...)`` returning an exit code."""
