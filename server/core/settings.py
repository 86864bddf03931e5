"""Settings: command-line flags, else environment variables, else defaults.

Every setting carries its help text; ``tests/unit/test_settings.py`` checks that the
README's configuration table lists every one of them.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import time
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class SettingsError(Exception):
    """A setting has a value Hearth cannot use."""


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _setting(env: str, help: str, default: Any = None) -> Any:  # noqa: A002 - reads as prose
    return field(default=default, metadata={"env": env, "help": help})


@dataclass(frozen=True)
class Settings:
    host: str = _setting("HEARTH_HOST", "Address to listen on.", "127.0.0.1")
    port: int = _setting("HEARTH_PORT", "TCP port to listen on.", 8080)
    database_url: str = _setting(
        "HEARTH_DATABASE_URL",
        "Database, as SQLAlchemy writes it: sqlite:///path or postgresql://user@host/db. "
        "Hearth picks the async driver. Unset: hearth.db (SQLite) in the var directory.",
        "",
    )
    database_timeout_seconds: int = _setting(
        "HEARTH_DATABASE_TIMEOUT_SECONDS",
        "Seconds a PostgreSQL statement may run (statement_timeout) and Hearth waits to connect, "
        "for a pooled connection or for an answer: a stalled database gives a 503 within this.",
        4,
    )
    redis_url: str | None = _setting(
        "HEARTH_REDIS_URL",
        "Redis for the Socket.IO message queue and the login and link-guess counters when "
        "several app nodes share rooms. Unset: single node, counters in memory.",
    )
    redis_channel: str | None = _setting(
        "HEARTH_REDIS_CHANNEL",
        "Name of the Socket.IO queue's channel on Redis, and the prefix of the keys that say "
        "which node runs each visit: nodes of one deployment share it, deployments that share "
        "a Redis each need their own. Unset: socketio.",
    )
    trusted_proxies: str | None = _setting(
        "HEARTH_TRUSTED_PROXIES",
        "Comma-separated addresses or CIDR networks of the reverse proxies in front of "
        "Hearth. Only from these is X-Forwarded-For believed: the client is its rightmost "
        "address that is not a trusted proxy. Unset: the peer address, headers ignored.",
    )
    secret_key: str | None = _setting(
        "HEARTH_SECRET_KEY",
        "Secret used to key the hashes of session ids and link tokens. Required unless --demo, "
        "which generates one and keeps it under the var directory.",
    )
    audit_key: str | None = _setting(
        "HEARTH_AUDIT_KEY",
        "Key of the HMAC that chains the audit log's rows, so that `hearth audit verify` finds "
        "an edited, deleted or forged row. Unset: derived from HEARTH_SECRET_KEY. Changing it "
        "(or, while it is unset, the secret key) makes the rows before the change fail to verify.",
    )
    public_url: str | None = _setting(
        "HEARTH_PUBLIC_URL",
        "Base URL people reach Hearth at; family links are {public_url}/join/{token}. "
        "Unset: http://host:port.",
    )
    ice_servers: str = _setting(
        "HEARTH_ICE_SERVERS",
        "JSON list of RTCIceServer objects (STUN/TURN). Unset: none, which suits loopback and LAN.",
        "[]",
    )
    turn_urls: str | None = _setting(
        "HEARTH_TURN_URLS",
        "Comma-separated turn: and turns: URLs of a TURN server that shares HEARTH_TURN_SECRET "
        "(coturn's use-auth-secret). Each clinician's and each family's session gets its own "
        "time-limited credential for them. Unset: no TURN beyond HEARTH_ICE_SERVERS.",
    )
    turn_secret: str | None = _setting(
        "HEARTH_TURN_SECRET",
        "The secret shared with the TURN server (coturn's static-auth-secret) that signs the "
        "time-limited TURN credentials. Never sent to a browser.",
    )
    turn_credential_minutes: int = _setting(
        "HEARTH_TURN_CREDENTIAL_MINUTES",
        "Minutes a TURN credential is valid; pages fetch a fresh one before it runs out.",
        60,
    )
    media_workers: str = _setting(
        "HEARTH_MEDIA_WORKERS",
        "Media worker processes, each carrying the calls of the visits pinned to it on a core "
        "of its own: a number, 'auto' for one per core, or 0 for calls in the app's own "
        "process (tests, development).",
        "auto",
    )
    media_host_addresses: str | None = _setting(
        "HEARTH_MEDIA_HOST_ADDRESSES",
        "Comma-separated addresses the media server gathers ICE candidates on. Unset: every "
        "interface but loopback.",
    )
    recordings_dir: str | None = _setting(
        "HEARTH_RECORDINGS_DIR",
        "Directory of visit recordings (each file encrypted). With several app nodes or media "
        "workers on several hosts it must be shared. Unset: recordings/ in the var directory.",
    )
    recording_retention_days: int = _setting(
        "HEARTH_RECORDING_RETENTION_DAYS",
        "Days a visit recording is kept after it stops; then it is deleted, and the deletion "
        "audited.",
        30,
    )
    recording_key: str | None = _setting(
        "HEARTH_RECORDING_KEY",
        "Key that encrypts visit recordings at rest (each file under a key derived from it). "
        "Unset: derived from HEARTH_SECRET_KEY. Changing it (or, while it is unset, the secret "
        "key) leaves the recordings made before unreadable.",
    )
    session_idle_minutes: int = _setting(
        "HEARTH_SESSION_IDLE_MINUTES",
        "Minutes of inactivity after which a staff session ends (HIPAA automatic logoff).",
        15,
    )
    session_max_hours: int = _setting(
        "HEARTH_SESSION_MAX_HOURS",
        "Absolute lifetime of a staff session, however active (NIST 800-63B AAL2: 12 h).",
        12,
    )
    link_grace_minutes: int = _setting(
        "HEARTH_LINK_GRACE_MINUTES",
        "Minutes after a visit's scheduled end during which its family link still works.",
        120,
    )
    lobby_opens_minutes: int = _setting(
        "HEARTH_LOBBY_OPENS_MINUTES",
        "Minutes before a visit's booked start from which its family may enter the waiting "
        "room. Before that the link still opens the device check, and the page says when to "
        "come back. Clinicians may enter at any time.",
        30,
    )
    var_dir: str = _setting(
        "HEARTH_VAR_DIR",
        "Directory for local state: the SQLite file, the generated demo secret and demo logins.",
        "./var",
    )
    clinic_name: str | None = _setting(
        "HEARTH_CLINIC_NAME",
        "Name of the care organisation, shown to families.",
    )
    clinic_phone: str | None = _setting(
        "HEARTH_CLINIC_PHONE",
        "Phone number families are told to call when a link has expired or been revoked.",
    )
    team_hours: str = _setting(
        "HEARTH_TEAM_HOURS",
        "The care team's hours, HH:MM-HH:MM in the team's time zone (every day; an end before "
        "the start runs past midnight). A family's message that arrives outside them raises an "
        "alert on the patient's escalation ladder.",
        "08:00-18:00",
    )
    team_time_zone: str | None = _setting(
        "HEARTH_TEAM_TIME_ZONE",
        "IANA time zone of HEARTH_TEAM_HOURS, e.g. Europe/London. Unset: each patient's own "
        "time zone (a team works where its patients live).",
    )
    allowed_origins: str | None = _setting(
        "HEARTH_ALLOWED_ORIGINS",
        "Comma-separated extra origins allowed to make state-changing requests and open "
        "sockets. The public URL's origin is always allowed.",
    )
    smtp_host: str | None = _setting(
        "HEARTH_SMTP_HOST",
        "SMTP server that sends families their visit reminders by email. Unset: no email.",
    )
    smtp_port: int = _setting(
        "HEARTH_SMTP_PORT",
        "Port of the SMTP server: 587 uses STARTTLS when offered, 465 implicit TLS.",
        587,
    )
    smtp_from: str | None = _setting(
        "HEARTH_SMTP_FROM",
        "Sender address of reminder emails, e.g. Care Team <visits@example.org>.",
    )
    smtp_user: str | None = _setting(
        "HEARTH_SMTP_USER", "User name for the SMTP server, if it needs a login."
    )
    smtp_password: str | None = _setting(
        "HEARTH_SMTP_PASSWORD", "Password for the SMTP server, if it needs a login."
    )
    sms_webhook_url: str | None = _setting(
        "HEARTH_SMS_WEBHOOK_URL",
        'URL that receives a POST of {"to", "text"} for each reminder sent by SMS '
        "(an SMS gateway). Unset: no SMS.",
    )
    scenarios_dir: str | None = _setting(
        "HEARTH_SCENARIOS_DIR",
        "Directory of extra crisis-drill scenario files (*.toml, the format of "
        "encounters/scenarios/). A bad file stops start-up with its file, line and reason. "
        "Unset: the six shipped scenarios only.",
    )
    education_dir: str | None = _setting(
        "HEARTH_EDUCATION_DIR",
        "Directory of extra family-education topics: <language>/<topic>.toml files in the "
        "format of encounters/education/content/. A bad file stops start-up with its file, line "
        "and reason. Unset: the shipped topics only.",
    )
    demo: bool = _setting(
        "HEARTH_DEMO", "Seed demo data and print the links (same as --demo).", False
    )

    # -- derived values -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def is_https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def origins(self) -> frozenset[str]:
        parts = urlsplit(self.base_url)
        allowed = {f"{parts.scheme}://{parts.netloc}"}
        if parts.hostname == "127.0.0.1":
            allowed.add(f"{parts.scheme}://localhost:{parts.port}")
        if self.allowed_origins:
            allowed.update(
                o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()
            )
        return frozenset(allowed)

    def __post_init__(self) -> None:
        if not self.database_url:  # the SQLite file lives with the rest of the local state
            database = Path(self.var_dir) / "hearth.db"
            object.__setattr__(self, "database_url", f"sqlite:///{database.as_posix()}")

    @property
    def recordings_path(self) -> Path:
        return Path(self.recordings_dir or Path(self.var_dir) / "recordings")

    @property
    def ice_server_list(self) -> list[dict[str, Any]]:
        return parse_ice_servers(self.ice_servers)

    @cached_property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return parse_trusted_proxies(self.trusted_proxies)

    @property
    def turn_url_list(self) -> tuple[str, ...]:
        return parse_turn_urls(self.turn_urls)

    @property
    def media_worker_count(self) -> int:
        """Media worker processes to run; 0: media in the app's own process."""
        return parse_media_workers(self.media_workers)

    @property
    def media_host_address_list(self) -> list[str] | None:
        if not self.media_host_addresses:
            return None
        return [a.strip() for a in self.media_host_addresses.split(",") if a.strip()]


def parse_media_workers(raw: str) -> int:
    if raw.strip().lower() == "auto":
        return os.cpu_count() or 1
    try:
        count = int(raw)
    except ValueError:
        raise SettingsError(f"HEARTH_MEDIA_WORKERS must be a number or auto, got {raw!r}") from None
    if not 0 <= count <= 256:
        raise SettingsError(f"HEARTH_MEDIA_WORKERS must be 0 to 256, got {count}")
    return count


def parse_team_hours(raw: str) -> tuple[time, time]:
    """``"08:00-18:00"`` as (start, end) wall-clock times; ``24:00`` may end the day."""
    match = re.match(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$", raw or "")
    valid = match is not None
    if match is not None:
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        valid = h1 < 24 and m1 < 60 and m2 < 60 and (h2 < 24 or (h2, m2) == (24, 0))
        valid = valid and (h1, m1) != (h2, m2)
    if not valid or match is None:
        raise SettingsError(
            "HEARTH_TEAM_HOURS must be two different times HH:MM-HH:MM, e.g. 08:00-18:00, "
            f"got {raw[:40]!r}"
        )
    end = time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)
    return time(h1, m1), end


def parse_trusted_proxies(raw: str | None) -> tuple[IPNetwork, ...]:
    """``"127.0.0.1, 10.0.0.0/8, ::1"`` as networks (an address is a network of one)."""
    networks: list[IPNetwork] = []
    for part in (raw or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise SettingsError(
                "HEARTH_TRUSTED_PROXIES must list IP addresses or CIDR networks separated by "
                f"commas, e.g. 127.0.0.1,10.0.0.0/8; {part!r} is neither"
            ) from exc
    return tuple(networks)


def parse_ice_servers(raw: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"HEARTH_ICE_SERVERS is not valid JSON: {exc.msg}") from exc
    if not isinstance(value, list) or not all(
        isinstance(s, dict) and isinstance(s.get("urls"), str | list) for s in value
    ):
        raise SettingsError(
            'HEARTH_ICE_SERVERS must be a JSON list of objects with "urls", '
            'e.g. [{"urls": "stun:stun.example.org:3478"}]'
        )
    return value


TURN_SCHEMES = ("turn:", "turns:")


def parse_turn_urls(raw: str | None) -> tuple[str, ...]:
    """``"turn:host:3478, turns:host:5349?transport=tcp"`` as a tuple of URLs."""
    urls = tuple(part.strip() for part in (raw or "").split(",") if part.strip())
    for url in urls:
        if not url.startswith(TURN_SCHEMES):
            raise SettingsError(
                "HEARTH_TURN_URLS must list turn: or turns: URLs separated by commas, e.g. "
                f"turn:turn.example.org:3478,turns:turn.example.org:5349; {url!r} is neither"
            )
    return urls


def setting_docs() -> list[tuple[str, str, Any]]:
    """(environment variable, help, default) for every setting, in declaration order."""
    return [(f.metadata["env"], f.metadata["help"], f.default) for f in fields(Settings)]


def _convert(name: str, env: str, raw: str, target: Any) -> Any:
    if target in (int, "int"):
        try:
            value = int(raw)
        except ValueError as exc:
            raise SettingsError(f"{env} must be a whole number, got {raw!r}") from exc
        if value <= 0:
            raise SettingsError(f"{env} must be positive, got {value}")
        return value
    if target in (bool, "bool"):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(f"{env} must be true or false, got {raw!r}")
    return raw


def load_settings(
    flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build settings: a flag that was given wins over the environment, which wins over the
    default. ``flags`` holds only the flags that were actually given (None means not given)."""
    environ = os.environ if environ is None else environ
    flags = flags or {}
    values: dict[str, Any] = {}
    for f in fields(Settings):
        env = f.metadata["env"]
        if flags.get(f.name) is not None:
            values[f.name] = flags[f.name]
        elif env in environ:
            values[f.name] = _convert(f.name, env, environ[env], f.type)
    settings = Settings(**values)
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    if not settings.database_url.startswith(("sqlite", "postgresql", "postgres://")):
        raise SettingsError(
            "HEARTH_DATABASE_URL must start with sqlite:/// or postgresql://, "
            f"got a URL with scheme {settings.database_url.split(':', 1)[0]!r}"
        )
    if settings.public_url and urlsplit(settings.public_url).scheme not in ("http", "https"):
        raise SettingsError("HEARTH_PUBLIC_URL must start with http:// or https://")
    parse_ice_servers(settings.ice_servers)
    parse_trusted_proxies(settings.trusted_proxies)
    parse_media_workers(settings.media_workers)
    parse_team_hours(settings.team_hours)
    if settings.team_time_zone:
        try:
            ZoneInfo(settings.team_time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(
                "HEARTH_TEAM_TIME_ZONE must be an IANA time zone such as Europe/London, got "
                f"{settings.team_time_zone[:64]!r}"
            ) from exc
    if bool(parse_turn_urls(settings.turn_urls)) != bool(settings.turn_secret):
        raise SettingsError(
            "HEARTH_TURN_URLS and HEARTH_TURN_SECRET go together: set both (TURN with "
            "time-limited credentials) or neither"
        )


def with_secret(settings: Settings) -> Settings:
    """Return settings that carry a secret key.

    In demo mode a missing key is generated once and kept under the var directory, so
    sessions and links survive a restart. Outside demo mode a missing key is an error:
    a key generated on the fly would silently log everyone out at each restart.
    """
    if settings.secret_key:
        return settings
    if not settings.demo:
        raise SettingsError(
            "HEARTH_SECRET_KEY is not set. Set it to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))'), or run with --demo."
        )
    path = Path(settings.var_dir) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return replace(settings, secret_key=path.read_text().strip())
