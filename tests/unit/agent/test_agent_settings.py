"""Settings: defaults, TOML, CLOUDSENSE_<SECTION>__<FIELD> variables, precedence, errors."""

from __future__ import annotations

import pytest

from agent.settings import AgentSettings, SettingsError, load_settings


def test_defaults_and_state_dir_from_systemd():
    s = load_settings(None, environ={"STATE_DIRECTORY": "/var/lib/cloudsense-agent"})
    assert s.agent.interval_seconds == 10.0
    assert s.agent.batch_max_samples == 1000
    assert s.agent.spool_max_bytes == 256 * 1024 * 1024
    assert s.agent.state_dir == "/var/lib/cloudsense-agent"
    assert s.log.json_output is None


def test_toml_then_environment_then_overrides(tmp_path):
    cfg = tmp_path / "agent.toml"
    cfg.write_text(
        '[agent]\nserver_url = "https://cp:8000"\ninterval_seconds = 30\ncollectors = ["cpu"]\n'
        '[log]\nlevel = "debug"\n'
    )
    env = {
        "CLOUDSENSE_AGENT__INTERVAL_SECONDS": "5",
        "CLOUDSENSE_AGENT__COLLECTORS": "cpu, memory",
        "CLOUDSENSE_DB__URL": "postgresql://elsewhere",  # another component's section: ignored
        "STATE_DIRECTORY": "/x",
    }
    s = load_settings(cfg, environ=env, overrides={"agent": {"batch_max_samples": 10, "host_id": None}})
    assert s.agent.server_url == "https://cp:8000"
    assert s.agent.interval_seconds == 5.0
    assert s.agent.collectors == ["cpu", "memory"]
    assert s.agent.batch_max_samples == 10
    assert s.log.level == "debug"


def test_enroll_token_file_from_systemd_credentials(tmp_path):
    (tmp_path / "enroll-token").write_text("t")
    s = load_settings(None, environ={"CREDENTIALS_DIRECTORY": str(tmp_path), "STATE_DIRECTORY": "/x"})
    assert s.agent.enroll_token_file == str(tmp_path / "enroll-token")


@pytest.mark.parametrize(
    ("toml", "env", "match"),
    [
        ("[agent]\nintervl = 3\n", {}, "intervl"),
        ("[agnet]\n", {}, "unknown section"),
        ("[agent]\ninterval_seconds = -1\n", {}, "interval_seconds"),
        ("not toml = = =", {}, "cannot read"),
        ("", {"CLOUDSENSE_AGENT__NOPE": "1"}, "unknown setting"),
        ("", {"CLOUDSENSE_AGENT__BATCH_MAX_SAMPLES": "many"}, "batch_max_samples"),
    ],
)
def test_invalid_configuration_fails_fast(tmp_path, toml, env, match):
    cfg = tmp_path / "agent.toml"
    cfg.write_text(toml)
    with pytest.raises(SettingsError, match=match):
        load_settings(cfg, environ=env)


def test_missing_explicit_config_file_is_an_error(tmp_path):
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(tmp_path / "absent.toml", environ={})


def test_every_field_has_a_docstring():
    import ast
    import inspect

    import agent.settings as module

    tree = ast.parse(inspect.getsource(module))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "AgentSettings")
    body = cls.body
    fields = [
        (i, n.target.id)
        for i, n in enumerate(body)
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    ]
    assert {name for _, name in fields} == set(AgentSettings.__struct_fields__)
    for i, name in fields:
        nxt = body[i + 1]
        assert isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant), f"{name} has no docstring"


def test_the_shared_log_section_tolerates_the_control_planes_variables():
    env = {
        "CLOUDSENSE_LOG__LEVEL": "WARNING",
        "CLOUDSENSE_LOG__JSON_OUTPUT": "true",
        "CLOUDSENSE_LOG__OTHER": "x",
    }
    s = load_settings(None, environ={**env, "STATE_DIRECTORY": "/x"})
    assert s.log.level == "warning" and s.log.json_output is True
