"""Configuration: the brands to watch (``vigie.yaml``) and the deployment settings (env vars).

Two sources on purpose: what to watch is shared, reviewed and versioned in YAML; where the
database lives and every secret come only from the environment, so they never land in a file that
gets copied around or shown in the dashboard.
"""

from __future__ import annotations

import logging
import os
import stat
import string
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
EXAMPLE_CONFIG = ROOT / "vigie.example.yaml"
log = logging.getLogger(__name__)


class ConfigError(Exception):
    """A configuration problem, worded for the person who edits the file."""


# Upper bounds on every number, so what `check` accepts `run` can compute with (an interval of
# 1e400 seconds or a window of 1e20 minutes used to pass `check` and break every cycle).
BIG = 10**12
WEEK_MINUTES, WEEK_SECONDS = 7 * 24 * 60, 7 * 24 * 3600
MONTH_HOURS, YEAR_HOURS = 31 * 24, 366 * 24


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


Sensitivity = Literal["fewer", "balanced", "more"] | Annotated[float, Field(gt=0, le=1000)]
"""Named (fewer / balanced / more), or the false alarms per month a brand accepts."""


class SpreadingRule(_Strict):
    """When a single complaint counts as spreading: its forecast crosses ``threshold`` reshares
    within ``warn_hours`` (warned before it does), or it already gains ``reshares_per_hour``."""

    reshares_per_hour: float = Field(20.0, gt=0, le=BIG)
    min_reshares: int = Field(10, ge=0, le=BIG)
    negative_only: bool = True
    threshold: int = Field(1000, gt=0, le=BIG)
    warn_hours: float = Field(6.0, gt=0, le=MONTH_HOURS)


class VolumeRule(_Strict):
    """When a stream's mentions or complaints count as a spike: improbable under its own rate
    (learnt over ``baseline_hours``), ``factor`` times the usual and ``min_count`` or more, in the
    ``window_minutes`` window or in 1, 3 or 12 hours."""

    window_minutes: int = Field(10, gt=0, le=WEEK_MINUTES)
    baseline_hours: int = Field(672, gt=0, le=YEAR_HOURS)
    factor: float = Field(3.0, gt=1, le=1000)
    min_count: int = Field(5, ge=1, le=BIG)
    cooldown_minutes: int = Field(60, ge=0, le=WEEK_MINUTES)
    sensitivity: Sensitivity = "balanced"


class IncidentRule(_Strict):
    """When similar complaints form an incident: a burst of one meaning against its own past."""

    similarity: float = Field(0.45, gt=0, lt=1)
    burst_similarity: float = Field(0.3, gt=0, lt=1)
    window_minutes: int = Field(60, gt=0, le=WEEK_MINUTES)
    baseline_hours: int = Field(24, gt=0, le=YEAR_HOURS)
    min_size: int = Field(6, ge=2, le=BIG)
    min_authors: int = Field(5, ge=1, le=BIG)
    sensitivity: Sensitivity = "balanced"
    close_after_hours: float = Field(12.0, gt=0, le=MONTH_HOURS)


class RiskRule(_Strict):
    """How a complaint's or incident's risk (0..1) is scaled, and from which risk it alerts."""

    alert: float = Field(0.75, gt=0, le=1)
    high: float = Field(0.85, gt=0, le=1)
    reach_followers: int = Field(100_000, gt=1, le=BIG)
    unanswered_minutes: float = Field(120.0, gt=0, le=WEEK_MINUTES)


Severity = Literal["info", "warning", "high", "critical"]
SEVERITIES: tuple[str, ...] = ("info", "warning", "high", "critical")
REPLY_FIELDS = ("brand", "author", "contact")


def _check_emails(value: list[str]) -> list[str]:
    for address in value:
        if "@" not in address or " " in address.strip():
            raise ValueError(f"not an email address: {address!r}")
    return [a.strip() for a in value]


def _check_webhooks(value: list[str]) -> list[str]:
    """Apprise URLs, or ``env:NAME`` for a URL that holds a token (kept out of the file)."""
    for entry in value:
        if entry.startswith("env:"):
            if not entry[4:].isidentifier():
                raise ValueError(f"not an environment variable name: {entry!r}")
        elif "://" not in entry:
            raise ValueError(f"not an apprise URL or env:NAME: {entry!r}")
    return value


EmailList = Annotated[list[str], AfterValidator(_check_emails)]
WebhookList = Annotated[list[str], AfterValidator(_check_webhooks)]


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Brussels)") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_zone)]


def _clock_time(value: Any) -> Any:
    """YAML 1.1 reads an unquoted 22:00 as the base-60 integer 1320; take it as meant."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return time(value // 60, value % 60)
    return value


class AlertRoute(_Strict):
    """Extra recipients for alerts from ``min_severity`` upward (e.g. the head of support)."""

    min_severity: Severity
    recipients: EmailList = Field(default_factory=list)
    webhooks: WebhookList = Field(default_factory=list)


class QuietHours(_Strict):
    """At night alerts wait for a morning digest; urgent ones still go out."""

    start: time
    end: time
    timezone: TimeZoneName = "UTC"
    digest_time: time | None = None
    urgent_severity: Severity = "critical"

    @field_validator("start", "end", "digest_time", mode="before")
    @classmethod
    def _times(cls, value: Any) -> Any:
        return _clock_time(value)

    @field_validator("end")
    @classmethod
    def _not_empty(cls, value: time, info: Any) -> time:
        if info.data.get("start") == value:
            raise ValueError("start and end are equal: the quiet period would be empty")
        return value

    def covers(self, moment: time) -> bool:
        """Whether a local wall-clock time falls in the quiet period (which may span midnight)."""
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


def _check_templates(value: dict[str, str]) -> dict[str, str]:
    formatter = string.Formatter()
    for language, template in value.items():
        try:
            names = {name for _, name, _, _ in formatter.parse(template) if name is not None}
        except ValueError as exc:
            raise ValueError(f"{language}: {exc}") from None
        unknown = names - set(REPLY_FIELDS)
        if unknown:
            raise ValueError(
                f"{language}: unknown placeholder(s) {', '.join(sorted(unknown))}; "
                f"use {', '.join('{' + f + '}' for f in REPLY_FIELDS)}"
            )
    return {language.lower(): template for language, template in value.items()}


class BrandAlerts(_Strict):
    """Who gets the brand's alerts, when, and what reply they are offered.

    ``recipients``/``webhooks`` get every alert from ``min_severity`` up; each of ``routes`` adds
    recipients from its own severity up (severities: info < warning < high < critical). Webhooks
    are apprise URLs, or ``env:NAME`` when the URL holds a token. An alert is re-sent only when
    its figure grew by ``escalation_factor``. With ``cooldown_minutes``, alerts arriving within
    that time of the last one wait and go out together; in ``quiet_hours`` they wait for one
    morning digest (``critical`` ones still go at once; manual ones always do). ``replies`` and
    ``statements`` override the suggested public reply / incident statement per language
    (placeholders {brand}, {author}, {contact}); ``reply_contact`` says per language how
    customers reach you.
    """

    recipients: EmailList = Field(default_factory=list)
    webhooks: WebhookList = Field(default_factory=list)
    min_severity: Severity = "info"
    routes: list[AlertRoute] = Field(default_factory=list)
    spreading: SpreadingRule = Field(default_factory=SpreadingRule)
    volume: VolumeRule = Field(default_factory=VolumeRule)
    incidents: IncidentRule = Field(default_factory=IncidentRule)
    risk: RiskRule = Field(default_factory=RiskRule)
    cooldown_minutes: float = Field(0.0, ge=0, le=WEEK_MINUTES)
    escalation_factor: float = Field(2.0, gt=1, le=1000)
    quiet_hours: QuietHours | None = None
    replies: dict[str, str] = Field(default_factory=dict)
    statements: dict[str, str] = Field(default_factory=dict)
    reply_contact: dict[str, str] = Field(default_factory=dict)

    @field_validator("replies", "statements")
    @classmethod
    def _templates(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_templates(value)

    @field_validator("reply_contact")
    @classmethod
    def _contacts(cls, value: dict[str, str]) -> dict[str, str]:
        return {language.lower(): contact.strip() for language, contact in value.items()}

    @field_validator("quiet_hours")
    @classmethod
    def _digest_outside(cls, value: QuietHours | None) -> QuietHours | None:
        if value is not None and value.digest_time and value.covers(value.digest_time):
            raise ValueError("digest_time falls inside the quiet hours; it would never be sent")
        return value


class Brand(_Strict):
    """A brand (or product) to watch and the words that identify it."""

    name: str = Field(min_length=1, max_length=64)
    keywords: list[str] = Field(default_factory=list)
    handles: list[str] = Field(default_factory=list)
    exclusions: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    competitors: list[str] = Field(default_factory=list)
    # The brand's clock for the dashboard, reports and e-mails (default: reports.timezone).
    timezone: TimeZoneName | None = None
    sources: dict[str, dict[str, Any]] = Field(default_factory=dict)
    alerts: BrandAlerts = Field(default_factory=BrandAlerts)

    @field_validator("keywords", "handles")
    @classmethod
    def _non_blank(cls, value: list[str]) -> list[str]:
        if any(not v.strip() for v in value):
            raise ValueError("entries must not be blank")
        return value

    def matches(self, text: str) -> bool:
        """True when the text names the brand and none of its exclusions (case-insensitive)."""
        low = text.casefold()
        terms = [t.casefold() for t in self.keywords + self.handles]
        if not any(t in low for t in terms):
            return False
        return not any(x.casefold() in low for x in self.exclusions)


class SourceConfig(BaseModel):
    """Schedule of one source; any other key is an option of that source's collector."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    enabled: bool = True
    interval_seconds: float = Field(300.0, gt=0, le=WEEK_SECONDS)
    jitter_seconds: float = Field(0.0, ge=0, le=WEEK_SECONDS)
    max_backoff_seconds: float = Field(3600.0, gt=0, le=WEEK_SECONDS)
    silent_after_intervals: int = Field(6, ge=0, le=10_000)  # 0: never raise a "silent" alert


class ScoringConfig(_Strict):
    model: str | None = None
    batch_size: int = Field(256, gt=0, le=100_000)


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class ReportsConfig(_Strict):
    """The weekly trends report: when it goes out, to whom, and the response-time target.

    Weeks are ISO weeks (Monday to Sunday) in ``timezone``, so "last week" means the same thing to
    marketing as on their calendar; the report of a week goes out on the first ``day`` at ``time``
    after it ends.
    """

    enabled: bool = True
    day: Literal[WEEKDAYS] = "monday"  # type: ignore[valid-type]
    time: str = Field("08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    timezone: TimeZoneName = "UTC"
    sla_minutes: int = Field(60, gt=0, le=WEEK_MINUTES)
    recipients: dict[str, EmailList] = Field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def recipients_for(self, brand: str) -> list[str]:
        """Who gets ``brand``'s report (brand names match case-insensitively, as elsewhere)."""
        for name, addresses in self.recipients.items():
            if name.casefold() == brand.casefold():
                return addresses
        return []


class VigieConfig(_Strict):
    brands: list[Brand] = Field(min_length=1)
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    dashboard_url: str = "http://localhost:8501"

    @field_validator("brands")
    @classmethod
    def _unique_names(cls, value: list[Brand]) -> list[Brand]:
        names = [b.name.casefold() for b in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"brand names must be unique, repeated: {', '.join(dupes)}")
        return value

    @model_validator(mode="after")
    def _report_brands(self) -> VigieConfig:
        known = {b.name.casefold() for b in self.brands}
        unknown = [name for name in self.reports.recipients if name.casefold() not in known]
        if unknown:
            raise ValueError(f"reports.recipients: unknown brand(s): {', '.join(unknown)}")
        return self

    def brand(self, name: str) -> Brand:
        for b in self.brands:
            if b.name.casefold() == name.casefold():
                return b
        raise ConfigError(f"unknown brand {name!r}; configured: {', '.join(self.brand_names)}")

    @property
    def brand_names(self) -> list[str]:
        return [b.name for b in self.brands]

    def zone(self, brand: str | None = None) -> ZoneInfo:
        """One clock per brand, everywhere times are shown: its ``timezone``, else the
        ``reports.timezone`` every brand shares (UTC by default); a name that is not a
        configured brand (a competitor, an alert of all brands) gets that shared one."""
        for b in self.brands:
            if brand is not None and b.name.casefold() == brand.casefold() and b.timezone:
                return ZoneInfo(b.timezone)
        return self.reports.zone


class Settings(BaseSettings):
    """Deployment settings and secrets, read from the environment only."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str | None = Field(None, alias="DATABASE_URL")
    data_dir: Path = Field(Path("var"), alias="VIGIE_DATA_DIR")
    config_path: Path | None = Field(None, alias="VIGIE_CONFIG")
    smtp_host: str | None = Field(None, alias="SMTP_HOST")
    smtp_port: int = Field(587, ge=1, le=65535, alias="SMTP_PORT")
    smtp_user: str | None = Field(None, alias="SMTP_USER")
    smtp_password: SecretStr | None = Field(None, alias="SMTP_PASSWORD")
    smtp_security: Literal["starttls", "ssl", "none"] = Field("starttls", alias="SMTP_SECURITY")
    smtp_from: str = Field("Vigie <vigie@localhost>", alias="SMTP_FROM")
    smtp_timeout: float = Field(10.0, gt=0, le=600, alias="SMTP_TIMEOUT")
    dashboard_password_hash: SecretStr | None = Field(None, alias="VIGIE_DASHBOARD_PASSWORD_HASH")
    alert_lease_seconds: float = Field(60.0, gt=0, le=86_400, alias="VIGIE_ALERT_LEASE_SECONDS")
    # Comma-separated: names the dashboard is reached by (besides localhost and dashboard_url's),
    # and reverse proxies whose X-Forwarded-For names the real client (docs/dashboard.md).
    dashboard_hosts: str = Field("", alias="VIGIE_DASHBOARD_HOSTS")
    trusted_proxies: str = Field("", alias="VIGIE_TRUSTED_PROXIES")

    @staticmethod
    def _names(value: str) -> frozenset[str]:
        return frozenset(v.strip().lower() for v in value.split(",") if v.strip())

    def public_hosts(self, dashboard_url: str | None) -> frozenset[str]:
        """The names the dashboard answers to: loopback, ``dashboard_url``'s host and
        ``VIGIE_DASHBOARD_HOSTS``. Any other ``Host`` is a DNS-rebinding page or a stray proxy."""
        host = urlsplit(dashboard_url).hostname if dashboard_url else None
        return LOOPBACK | self._names(self.dashboard_hosts) | ({host} if host else set())

    @property
    def proxies(self) -> frozenset[str]:
        return self._names(self.trusted_proxies)

    @property
    def db_url(self) -> str:
        """The database URL: ``DATABASE_URL`` or a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'vigie.db').resolve()}"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"


def _format_error(path: Path, error: ValidationError) -> str:
    lines = [f"{path}: invalid configuration"]
    for err in error.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)


def _warn_if_world_readable(path: Path) -> str | None:
    mode = path.stat().st_mode
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        return f"{path} is readable by other users of this machine (chmod 640 it)"
    return None


def default_config_path(settings: Settings | None = None) -> Path:
    """``$VIGIE_CONFIG``, else ``./vigie.yaml``, else the shipped example (the demo brand)."""
    settings = settings or Settings()
    if settings.config_path:
        return settings.config_path
    local = Path("vigie.yaml")
    return local if local.exists() else EXAMPLE_CONFIG


def load_config(path: Path | str | None = None) -> VigieConfig:
    """Read and validate a YAML config; every problem is reported with the key that holds it."""
    path = Path(path) if path else default_config_path()
    if not path.exists():
        raise ConfigError(f"{path}: no such file (copy vigie.example.yaml to vigie.yaml)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a UTF-8 text file (byte {exc.start} is not)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping with a 'brands' key")
    try:
        config = VigieConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_error(path, exc)) from None
    shipped = path.resolve() == EXAMPLE_CONFIG
    warning = _warn_if_world_readable(path) if os.name == "posix" and not shipped else None
    if warning:
        log.warning(warning)
    return config
