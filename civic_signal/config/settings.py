"""Typed settings, read in one place.

Order (later wins): ``config/defaults.toml`` -> a TOML file (``--config`` or ``CIVIC_CONFIG``)
-> environment variables ``CIVIC_<KEY>`` / ``CIVIC_<SECTION>__<KEY>``. Secrets are
``SecretStr`` and are accepted only from the environment: a secret found in a TOML file is an
error, so that nobody commits one. Settings are frozen; pass them down as arguments.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from civic_signal.config.errors import ConfigError

DEFAULTS_PATH = Path(__file__).with_name("defaults.toml")
REPO_ROOT = Path(__file__).resolve().parents[2]
#: A source checkout (``pyproject.toml`` beside the package): relative paths are relative to it.
#: Installed from a wheel (site-packages): relative to the working directory (systemd's
#: ``WorkingDirectory``, see docs/deploy.md).
IN_CHECKOUT = (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "civic_signal").is_dir()

#: Keys that are secrets: only the environment may set them.
SECRET_KEYS = {
    ("open311", "api_key"),
    ("x", "bearer_token"),
    ("datasift", "push_secret"),
    ("mastodon", "token"),
    ("kafka", "sasl_password"),
    ("alerts", "webhook_secret"),
}


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BusSettings(_Section):
    kind: Literal["memory", "kafka"] = "memory"
    max_queue: int = Field(10000, ge=1)
    batch_size: int = Field(1000, ge=1)


class ReplaySettings(_Section):
    path: str = "samples/boston_stream.jsonl"
    speed: float = Field(20.0, ge=0, description="posts per second; 0 = as fast as possible")

    @field_validator("speed", mode="before")
    @classmethod
    def _max_speed(cls, v: Any) -> Any:
        return 0.0 if isinstance(v, str) and v.strip().lower() == "max" else v


class ClassifierSettings(_Section):
    kind: Literal["spacy", "keyword"] = "spacy"
    model_path: str = ""
    actionable_threshold: float = Field(0.5, ge=0, le=1)
    processes: int = Field(1, ge=0, le=64, description="worker processes of the embedded pipeline; 0 = in its own process")
    models_dir: str = Field("models", description="trained model versions and the active pointer, under var_dir "
                                                  "when relative (docs/learning.md)")
    promote_tolerance: float = Field(0.01, ge=0, le=1, description="largest drop of a held-out figure `model promote` accepts")
    reload_check_s: float = Field(5.0, ge=0, description="how often a running classifier checks for a promoted version")


class GatingSettings(_Section):
    auto_threshold: float = Field(0.8, ge=0, le=1)
    review_threshold: float = Field(0.55, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> "GatingSettings":
        if self.review_threshold > self.auto_threshold:
            raise ValueError("review_threshold must not be above auto_threshold")
        return self


class ReviewSettings(_Section):
    """``civic-signal review suggest``: the posts whose labels would teach the model most (docs/learning.md)."""

    suggest_per_day: int = Field(5, ge=0, le=1000, description="most posts offered for labelling per day (UTC)")
    suggest_days: float = Field(7.0, gt=0, description="posts of this many last days are considered")
    suggest_max_margin: float = Field(0.15, ge=0, le=1, description="a post this close to another decision is a candidate")
    suggest_term_min_posts: int = Field(3, ge=1, description="an unknown word in this many recent posts is a new term")
    suggest_scan_max: int = Field(20000, ge=1, description="the newest this many posts are scored, at most")


class IncidentSettings(_Section):
    distance_m: float = Field(150.0, gt=0)
    window_hours: float = Field(48.0, gt=0)


class Open311Settings(_Section):
    url: str = ""
    api_key: SecretStr = SecretStr("")
    jurisdiction_id: str = ""
    timeout_s: float = Field(10.0, gt=0)
    max_attempts: int = Field(12, ge=1)
    retry_base_s: float = Field(30.0, gt=0)
    retry_max_s: float = Field(3600.0, gt=0)
    #: a ticket waits out an outage (endpoint refused, timed out, 502/503/504) this long after it was queued
    outage_max_hours: float = Field(168.0, gt=0)
    status_sync_minutes: float = Field(15, gt=0)
    services_refresh_minutes: float = Field(1440, gt=0)
    deliver_every_s: float = Field(5.0, gt=0, description="the outbox sweep: how often due tickets are sent")
    end_wait_s: float = Field(30.0, ge=0, description="how long `run` waits at the end for due deliveries")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v and not (v.startswith("http://") or v.startswith("https://")):
            raise ValueError("must be an http(s) URL ending in '/'")
        if v and not v.endswith("/"):
            raise ValueError("must end in '/' (the GeoReport v2 base, e.g. https://host/open311/v2/)")
        return v

    @property
    def enabled(self) -> bool:
        return bool(self.url)


class KafkaSettings(_Section):
    """The Kafka bus (``bus.kind = "kafka"``); env ``CIVIC_KAFKA__<KEY>``. See docs/kafka.md."""

    bootstrap_servers: Annotated[list[str], NoDecode] = ["127.0.0.1:9092"]
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = ""
    sasl_username: str = ""
    sasl_password: SecretStr = SecretStr("")
    ssl_cafile: str = ""
    ssl_certfile: str = ""
    ssl_keyfile: str = ""
    ssl_check_hostname: bool = True
    client_id: str = "civic-signal"
    group_prefix: str = "civic-signal"
    topic_raw: str = "civic.posts.raw"
    topic_classified: str = "civic.posts.classified"
    topic_tickets: str = "civic.tickets"
    topic_dead_letter: str = "civic.dead-letter"
    create_topics: bool = True
    partitions: int = Field(6, ge=1)
    replication_factor: int = Field(1, ge=1)
    max_tries: int = Field(3, ge=1)
    session_timeout_ms: int = Field(10000, ge=1000)
    heartbeat_interval_ms: int = Field(3000, ge=100)
    max_poll_interval_ms: int = Field(300000, ge=1000)
    request_timeout_ms: int = Field(30000, ge=1000)
    delivery_timeout_ms: int = Field(120000, ge=1000)
    linger_ms: int = Field(25, ge=0)
    batch_items: int = Field(100, ge=1, le=10_000, description="items per Kafka record (batch envelope); 1 = a record per post")
    compression_type: Literal["", "gzip"] = ""
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"

    @field_validator("bootstrap_servers", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        return [s.strip() for s in v.split(",") if s.strip()] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _consistent(self) -> "KafkaSettings":
        if not self.bootstrap_servers:
            raise ValueError("bootstrap_servers must name at least one host:port")
        if self.security_protocol.startswith("SASL") and not (self.sasl_mechanism and self.sasl_username):
            raise ValueError(f"security_protocol {self.security_protocol} needs sasl_mechanism and sasl_username "
                             "(and CIVIC_KAFKA__SASL_PASSWORD in the environment)")
        if self.heartbeat_interval_ms * 3 > self.session_timeout_ms:
            raise ValueError("heartbeat_interval_ms must be at most a third of session_timeout_ms")
        return self


class XRule(_Section):
    value: str
    tag: str


class XSettings(_Section):
    base_url: str = "https://api.twitter.com"
    bearer_token: SecretStr = SecretStr("")
    rules: list[XRule] = []
    watchdog_s: float = Field(30.0, gt=0)
    poll_interval_s: float = Field(60.0, gt=0)
    search_query: str = ""
    search_max_results: int = Field(100, ge=10, le=100)


class DataSiftSettings(_Section):
    stream_url: str = ""
    push_secret: SecretStr = SecretStr("")
    push_host: str = "127.0.0.1"
    push_port: int = Field(8311, ge=0, le=65535)
    push_max_body_bytes: int = Field(5_000_000, ge=1)
    push_max_skew_s: int = Field(300, ge=1)
    push_spool_dir: str = "push-spool"
    watchdog_s: float = Field(60.0, gt=0)


class JetstreamSettings(_Section):
    url: str = "wss://jetstream2.us-east.bsky.network/subscribe"
    keywords: list[str] = []
    watchdog_s: float = Field(30.0, gt=0)
    cursor_rewind_s: float = Field(5.0, ge=0)


class MastodonSettings(_Section):
    streaming_url: str = ""
    token: SecretStr = SecretStr("")
    streams: list[str] = ["public:local"]
    watchdog_s: float = Field(60.0, gt=0)


class ConsoleSettings(_Section):
    refresh_per_second: float = Field(4.0, gt=0, le=30)
    poll_interval_s: float = Field(2.0, gt=0, description="how often the console reads the archive")
    heartbeat_s: float = Field(5.0, gt=0, description="how often processes publish their health")
    stale_after_s: float = Field(30.0, gt=0, description="a heartbeat older than this means the process is silent")
    alert_check_s: float = Field(15.0, gt=0, description="how often the console evaluates the alert rules")


class AlertSettings(_Section):
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    webhook_timeout_s: float = Field(5.0, gt=0)
    spike_window_minutes: float = Field(30.0, gt=0)
    spike_min_count: int = Field(5, ge=1)
    surge_hours: float = Field(6.0, ge=0, description="a type busy across the city over this long raises every neighbourhood's expectation (0: off)")
    stall_minutes: float = Field(10.0, gt=0)
    delivery_window_minutes: float = Field(30.0, gt=0)
    delivery_min_failures: int = Field(3, ge=1)
    dead_letter_bucket_minutes: float = Field(10.0, gt=0)
    dead_letter_buckets: int = Field(6, ge=2)
    dead_letter_min: int = Field(10, ge=1)
    dead_letter_factor: float = Field(3.0, ge=0)

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, v: str) -> str:
        if v and not (v.startswith("http://") or v.startswith("https://")):
            raise ValueError("must be an http(s) URL")
        return v


class ForecastSettings(_Section):
    """Expected volumes (docs/forecast.md): the Open311 prior and how much it weighs against the archive."""

    prior_path: str = Field("", description="the prior's JSON; empty = the shipped Boston prior")
    prior_scale: float = Field(1.0, gt=0, description="posts per Open311 request assumed before the archive says")
    prior_reports: float = Field(5.0, gt=0, description="the prior's level weighs as much as this many archived reports")
    prior_weeks: float = Field(2.0, gt=0, description="the prior's hour-of-week shape weighs as much as this many weeks")
    hood_pseudo: float = Field(20.0, ge=0, description="the prior's neighbourhood shares weigh as much as this many reports")
    interval: float = Field(0.995, gt=0.5, lt=1, description="central prediction interval; a spike is above its top")
    learn_days: float = Field(365.0, gt=0, description="archive history the baseline learns from")
    refit_minutes: float = Field(60.0, gt=0, description="how often the baseline is learnt again")


class OpenDataSettings(_Section):
    """The anonymised public feed (``civic-signal opendata``)."""

    k: int = Field(5, ge=2, description="cells with fewer reports than this are suppressed")
    grid_m: float = Field(100.0, ge=50, description="incident points are snapped to the centre of a grid cell this wide")
    points_period: Literal["day", "week", "month"] = "month"
    licence: str = Field("ODC-BY-1.0", description="SPDX id of the licence written with the files")
    publisher: str = "Civic Signal"


class PrivacySettings(_Section):
    hash_authors: bool = True
    retention_days: int = Field(90, ge=1)


class MetricsSettings(_Section):
    """Prometheus metrics and health checks (``/metrics``, ``/healthz``, ``/readyz``) of a long-running role."""

    port: int = Field(0, ge=0, le=65535, description="0 = no metrics/health server (the default)")
    host: str = Field("127.0.0.1", description="the address to bind; 0.0.0.0 exposes it to the network")
    refresh_s: float = Field(5.0, gt=0, description="how often readiness and the gauges (lag, tickets) are recomputed")
    jurisdiction: str = Field("boston", min_length=1, description="the jurisdiction label of the ticket metrics")


class JurisdictionOpen311(_Section):
    """One city's Open311 endpoint; env ``CIVIC_JURISDICTIONS__<ID>__OPEN311__URL`` / ``__API_KEY`` (secret) /
    ``__JURISDICTION_ID``. The retry, timeout and sync knobs are the ``[open311]`` ones, shared by every city."""

    url: str = ""
    api_key: SecretStr = SecretStr("")
    jurisdiction_id: str = ""

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return Open311Settings._url(v)


class JurisdictionSettings(_Section):
    """Per-city settings of a jurisdiction pack (``[jurisdictions.<id>]``)."""

    open311: JurisdictionOpen311 = JurisdictionOpen311()


class RoutingSettings(_Section):
    """Which jurisdiction packs are active and where an operator's own packs live (docs/jurisdictions.md)."""

    packs: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["boston", "cambridge"],
                                                  description="active pack ids, in tie-break order")
    packs_dir: str = Field("", description="a folder of the operator's own packs (<dir>/<id>/pack.json)")
    default: str = Field("boston", description="the jurisdiction of a post that names no place at all; '' = none")

    @field_validator("packs", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        return [x.strip() for x in v.split(",") if x.strip()] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _default_active(self) -> "RoutingSettings":
        if self.default and self.default not in self.packs:
            raise ValueError(f"default {self.default!r} is not one of the active packs {self.packs}")
        return self


class LogSettings(_Section):
    format: Literal["text", "json"] = "text"


class Settings(BaseSettings):
    """The effective settings. Build with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="CIVIC_", env_nested_delimiter="__", frozen=True, extra="forbid",
        case_sensitive=False,
    )

    database_url: str = "sqlite:///var/civic-signal.db"
    var_dir: str = "var"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    bus: BusSettings = BusSettings()
    replay: ReplaySettings = ReplaySettings()
    classifier: ClassifierSettings = ClassifierSettings()
    gating: GatingSettings = GatingSettings()
    review: ReviewSettings = ReviewSettings()
    incidents: IncidentSettings = IncidentSettings()
    open311: Open311Settings = Open311Settings()
    kafka: KafkaSettings = KafkaSettings()
    x: XSettings = XSettings()
    datasift: DataSiftSettings = DataSiftSettings()
    jetstream: JetstreamSettings = JetstreamSettings()
    mastodon: MastodonSettings = MastodonSettings()
    console: ConsoleSettings = ConsoleSettings()
    alerts: AlertSettings = AlertSettings()
    forecast: ForecastSettings = ForecastSettings()
    opendata: OpenDataSettings = OpenDataSettings()
    privacy: PrivacySettings = PrivacySettings()
    metrics: MetricsSettings = MetricsSettings()
    routing: RoutingSettings = RoutingSettings()
    jurisdictions: dict[str, JurisdictionSettings] = Field(default_factory=dict)
    log: LogSettings = LogSettings()

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
        # environment beats the TOML values, which arrive as init kwargs
        return (env_settings, init_settings)

    def resolve_path(self, value: str) -> Path:
        """A relative path in the settings is relative to the repository root (in a source
        checkout) or to the working directory (installed from a wheel)."""
        p = Path(value)
        return p if p.is_absolute() else (REPO_ROOT if IN_CHECKOUT else Path.cwd()) / p

    @property
    def var_path(self) -> Path:
        return self.resolve_path(self.var_dir)

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with a relative SQLite path made absolute."""
        url = self.database_url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.resolve_path(url[len(prefix):]))
        return url


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist", hint="check --config / CIVIC_CONFIG") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _reject_secrets_in_file(data: dict[str, Any], path: Path) -> None:
    for jid, sec in (data.get("jurisdictions") or {}).items():
        if isinstance(sec, dict) and isinstance(sec.get("open311"), dict) and sec["open311"].get("api_key"):
            raise ConfigError(f"jurisdictions.{jid}.open311.api_key is a secret and must not be in {path}",
                              hint=f"remove it from the file and set CIVIC_JURISDICTIONS__{jid.upper()}__OPEN311__API_KEY "
                                   "in the environment")
    for section, key in SECRET_KEYS:
        if isinstance(data.get(section), dict) and data[section].get(key):
            env = f"CIVIC_{section.upper()}__{key.upper()}"
            raise ConfigError(f"{section}.{key} is a secret and must not be in {path}",
                              hint=f"remove it from the file and set {env} in the environment")


def _format_validation(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(root)"
        env = "CIVIC_" + "__".join(str(p).upper() for p in err["loc"] if not isinstance(p, int))
        lines.append(f"{key} (env {env}): {err['msg']}; got {_shown_input(err)}"[:300])
    return "; ".join(lines)


_SECRET_WORDS = ("secret", "token", "password", "key", "credential", "auth")


def _shown_input(err: dict[str, Any]) -> str:
    """The bad value for an error message, unless it may be a secret: the value of an unknown
    (perhaps misspelt) key, of a key named like a secret, or a whole section."""
    name = str(err["loc"][-1]).lower() if err.get("loc") else ""
    value = err.get("input")
    if err.get("type") == "extra_forbidden" or any(w in name for w in _SECRET_WORDS) or isinstance(value, dict):
        return "(value hidden: it may be a secret)"
    return repr(value)


def load_settings(config_path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read defaults, the optional TOML file, the environment and explicit ``overrides``.

    Raises :class:`ConfigError` naming the bad key and what is wrong with it.
    """
    data = _read_toml(DEFAULTS_PATH)
    path = config_path or os.environ.get("CIVIC_CONFIG")
    if path:
        user = _read_toml(Path(path))
        _reject_secrets_in_file(user, Path(path))
        data = _deep_merge(data, user)
    try:
        settings = Settings(**data)
        if overrides:
            settings = with_overrides(settings, **overrides)
    except ValidationError as exc:
        raise ConfigError(f"invalid setting: {_format_validation(exc)}") from None
    except SettingsError as exc:
        raise ConfigError(f"invalid setting in the environment: {exc}",
                          hint="lists are JSON (e.g. '[\"a\", \"b\"]') or comma-separated where noted") from None
    return settings


def with_overrides(settings: Settings, **overrides: Any) -> Settings:
    """A copy of ``settings`` with ``overrides`` applied on top (they beat the environment).

    Sections are given as dicts: ``with_overrides(s, replay={"speed": 0})``. Values are validated.
    """
    update: dict[str, Any] = {}
    for name, value in overrides.items():
        if name not in Settings.model_fields:
            raise ConfigError(f"unknown setting {name!r}")
        current = getattr(settings, name)
        if isinstance(current, BaseModel) and isinstance(value, dict):
            merged = _deep_merge(current.model_dump(), value)
            update[name] = type(current).model_validate(merged)
        else:
            update[name] = value
    try:
        # validate top-level scalars too
        Settings.model_validate({**settings.model_dump(), **{k: v for k, v in update.items()
                                                                if not isinstance(v, BaseModel)}})
    except ValidationError as exc:
        raise ConfigError(f"invalid setting: {_format_validation(exc)}") from None
    return settings.model_copy(update=update)


def masked_dump(settings: Settings) -> dict[str, Any]:
    """The settings as plain data with every secret shown as ``**********`` (or empty)."""
    def mask(v: Any) -> Any:
        if isinstance(v, SecretStr):
            return "**********" if v.get_secret_value() else ""
        if isinstance(v, BaseModel):
            return {k: mask(getattr(v, k)) for k in type(v).model_fields}
        if isinstance(v, list):
            return [mask(x) for x in v]
        return v
    return mask(settings)
