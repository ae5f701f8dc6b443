"""redact: known secret values and secret-looking keys are masked."""

from __future__ import annotations

from buildkit_runner.redact import MASK, Redactor, structlog_processor


def test_known_values_are_masked_everywhere_in_text() -> None:
    redactor = Redactor(["s3cr3t-value"])
    text = "token=s3cr3t-value and again s3cr3t-value."
    assert redactor.text(text) == f"token={MASK} and again {MASK}."


def test_nothing_to_mask_leaves_text_alone() -> None:
    assert Redactor().text("plain $(text) [x]") == "plain $(text) [x]"


def test_short_values_are_not_secrets() -> None:
    redactor = Redactor(["abc", "", "x"])
    assert redactor.text("abc x abc") == "abc x abc"


def test_longest_secret_is_masked_whole() -> None:
    redactor = Redactor(["abcd"])
    redactor.add(["abcdefgh"])
    assert redactor.text("abcdefgh abcd") == f"{MASK} {MASK}"
    assert "efgh" not in redactor.text("abcdefgh")


def test_regex_characters_in_secrets_are_literal() -> None:
    redactor = Redactor(["a.b*c+d(e)"])
    assert redactor.text("x a.b*c+d(e) aXbbbcd") == f"x {MASK} aXbbbcd"


def test_mapping_masks_secret_keys_and_known_values() -> None:
    redactor = Redactor(["known-secret"])
    data = {
        "password": "hunter22",
        "NPM_TOKEN": "abc",
        "api-key": "k",
        "Authorization": "Bearer x",
        "note": "contains known-secret here",
        "count": 3,
        "image": "web",
    }
    assert redactor.mapping(data) == {
        "password": MASK,
        "NPM_TOKEN": MASK,
        "api-key": MASK,
        "Authorization": MASK,
        "note": f"contains {MASK} here",
        "count": 3,
        "image": "web",
    }


def test_structlog_processor_masks_secret_keys() -> None:
    event = structlog_processor(None, "info", {"event": "login", "registry_password": "pw12"})
    assert event == {"event": "login", "registry_password": MASK}
