"""secrets.read: the values of a build's env secrets, or every unset variable at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildkit_runner import plan as plan_module
from buildkit_runner import secrets
from buildkit_runner.config import Config
from buildkit_runner.errors import ConfigError
from tests.fakes import git_context, load_project

TOML = """\
[images.web]
repository = "a.io/web"
context = "web"
secrets = [{ id = "tok", env = "MY_TOK" }, { id = "npm", env = "NPM_TOKEN" }]

[images.api]
repository = "a.io/api"
context = "api"
secrets = [{ id = "tok", env = "MY_TOK" }]
"""


def _plan(root: Path) -> tuple[Config, plan_module.Plan]:
    config = load_project(root, TOML, ("web", "api"))
    options = plan_module.Options(offline=True)
    return config, plan_module.make_plan(config, git_context(), options)


def test_values_of_set_variables_are_returned_for_masking(tmp_path: Path) -> None:
    config, plan = _plan(tmp_path)
    env = {"MY_TOK": "s3cret", "NPM_TOKEN": "npm-value"}
    assert secrets.read(config, plan, env) == ["s3cret", "npm-value"]


def test_an_unset_variable_is_a_config_error_before_building(tmp_path: Path) -> None:
    config, plan = _plan(tmp_path)
    with pytest.raises(ConfigError) as caught:
        secrets.read(config, plan, {})
    assert caught.value.exit_code == 2
    assert caught.value.problems == (
        "images.web: secret tok: variable MY_TOK is not set; export it (export MY_TOK=...) "
        'or use src = "<file>" for this secret in the config',
        "images.web: secret npm: variable NPM_TOKEN is not set; export it "
        '(export NPM_TOKEN=...) or use src = "<file>" for this secret in the config',
    )


def test_an_empty_variable_is_allowed_and_not_masked(tmp_path: Path) -> None:
    config, plan = _plan(tmp_path)
    assert secrets.read(config, plan, {"MY_TOK": "", "NPM_TOKEN": ""}) == []
