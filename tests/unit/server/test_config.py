"""Settings → Config: camelCase, dotted keys, bad values keep defaults with a clear message."""

from __future__ import annotations

from lsp_server.config import Config, parse_config, snake


def test_snake_case() -> None:
    assert snake("debounceMs") == "debounce_ms"
    assert snake("apiKeyEnv") == "api_key_env"
    assert snake("modelPath") == "model_path"


def test_none_and_empty_give_defaults() -> None:
    assert parse_config(None) == (Config(), [])
    assert parse_config({}) == (Config(), [])


def test_nested_and_dotted_keys() -> None:
    cfg, problems = parse_config(
        {"codeflow": {"completion": {"debounceMs": 120}, "context.budgetTokens": 4096}}
    )
    assert problems == []
    assert cfg.completion.debounce_ms == 120
    assert cfg.context.budget_tokens == 4096
    assert cfg.completion.max_tokens == 64


def test_bad_values_keep_defaults_and_say_why() -> None:
    cfg, problems = parse_config(
        {
            "provider": "gpu",
            "completion": {"maxTokens": 0, "enabled": "yes"},
            "tests": "x",
            "remote": {"timeoutS": 5},
            "nonsense": 1,
        }
    )
    assert cfg.provider == "auto"
    assert cfg.completion.max_tokens == 64
    assert cfg.completion.enabled is True
    assert cfg.remote.timeout_s == 5.0
    assert problems == [
        'codeflow.provider: expected one of "auto", "cpu", "cuda", got "gpu"; '
        'using the default "auto"',
        "codeflow.completion.maxTokens: expected a whole number between 1 and 4096, got 0; "
        "using the default 64",
        'codeflow.completion.enabled: expected true or false, got "yes"; using the default true',
        'codeflow.tests: expected an object, got "x"; using the defaults',
        "unknown setting codeflow.nonsense (ignored)",
    ]


def test_problems_name_the_key_as_typed_and_show_json_values() -> None:
    """The user wrote `codeflow.completion.maxTokens: true` in settings.json: the message says
    that name (not max_tokens) and that value (not Python's True)."""
    _, problems = parse_config({"codeflow": {"completion.maxTokens": True,
                                             "context": {"exclude": "*.min.js"},
                                             "remote.verifyTls": None,
                                             "tests": {"timeoutS": 1.5}}})
    assert problems == [
        "codeflow.completion.maxTokens: expected a whole number between 1 and 4096, got true; "
        "using the default 64",
        'codeflow.context.exclude: expected a list of strings, got "*.min.js"; '
        "using the default []",
        "codeflow.remote.verifyTls: expected true or false, got null; using the default true",
        "codeflow.tests.timeoutS: expected a whole number between 1 and 3600, got 1.5; "
        "using the default 120",
    ]


def test_removed_and_unknown_settings_are_reported() -> None:
    """`completion.precompute` did nothing: it is no longer accepted."""
    _, problems = parse_config({"completion": {"precompute": True}})
    assert problems == ["unknown setting codeflow.completion.precompute (ignored)"]


def test_client_settings_are_accepted_silently() -> None:
    cfg, problems = parse_config({"serverPath": "/x/codeflow", "pythonPath": "",
                                  "trace": {"server": "verbose"}})
    assert (cfg, problems) == (Config(), [])


def test_log_level_is_normalised() -> None:
    assert parse_config({"logLevel": "debug"})[0].log_level == "DEBUG"
    assert parse_config({})[0].log_level == ""


def test_null_debounce_means_adaptive_and_lists_become_tuples() -> None:
    cfg, problems = parse_config(
        {"completion": {"debounceMs": None}, "context": {"exclude": ["*.min.js"]}}
    )
    assert problems == []
    assert cfg.completion.debounce_ms is None
    assert cfg.context.exclude == ("*.min.js",)


def test_not_an_object() -> None:
    cfg, problems = parse_config(["x"])
    assert cfg == Config()
    assert problems == ["codeflow settings must be an object, got list"]
