import pytest

from civic_signal.config.errors import ConfigError
from civic_signal.config.settings import load_settings, masked_dump, with_overrides


def test_defaults_load_and_are_frozen():
    s = load_settings()
    assert s.bus.kind == "memory"
    assert s.incidents.distance_m == 150.0
    with pytest.raises(Exception):
        s.bus.max_queue = 5  # type: ignore[misc]


def test_environment_overrides_nested_keys(monkeypatch):
    monkeypatch.setenv("CIVIC_OPEN311__URL", "http://127.0.0.1:9/open311/v2/")
    monkeypatch.setenv("CIVIC_OPEN311__API_KEY", "s3cret-key")
    monkeypatch.setenv("CIVIC_KAFKA__BOOTSTRAP_SERVERS", "a:9092,b:9092")
    s = load_settings()
    assert s.open311.url == "http://127.0.0.1:9/open311/v2/"
    assert s.open311.api_key.get_secret_value() == "s3cret-key"
    assert s.kafka.bootstrap_servers == ["a:9092", "b:9092"]


def test_bad_setting_names_the_key(monkeypatch):
    monkeypatch.setenv("CIVIC_BUS__MAX_QUEUE", "-3")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "bus.max_queue" in str(err.value)
    assert "CIVIC_BUS__MAX_QUEUE" in str(err.value)


def test_open311_url_must_end_in_slash(monkeypatch):
    monkeypatch.setenv("CIVIC_OPEN311__URL", "http://127.0.0.1/open311/v2")
    with pytest.raises(ConfigError, match="open311.url"):
        load_settings()


def test_secret_in_a_file_is_refused(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[open311]\napi_key = "oops"\n')
    with pytest.raises(ConfigError, match="CIVIC_OPEN311__API_KEY"):
        load_settings(cfg)


def test_file_values_apply_and_environment_wins(tmp_path, monkeypatch):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[incidents]\ndistance_m = 90\nwindow_hours = 12\n')
    monkeypatch.setenv("CIVIC_INCIDENTS__WINDOW_HOURS", "6")
    s = load_settings(cfg)
    assert s.incidents.distance_m == 90
    assert s.incidents.window_hours == 6


def test_overrides_beat_environment_and_are_validated(monkeypatch):
    monkeypatch.setenv("CIVIC_REPLAY__SPEED", "5")
    s = load_settings()
    assert with_overrides(s, replay={"speed": "max"}).replay.speed == 0.0
    with pytest.raises(ConfigError):
        load_settings(replay={"speed": -1})


def test_masked_dump_hides_secrets(monkeypatch):
    monkeypatch.setenv("CIVIC_X__BEARER_TOKEN", "AAAA-very-secret")
    dumped = str(masked_dump(load_settings()))
    assert "AAAA-very-secret" not in dumped
    assert "**********" in dumped
