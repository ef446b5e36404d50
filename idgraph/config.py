"""Settings from ``IDGRAPH_*`` environment variables, and loading of the rules file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from idgraph.domain.records import Limits
from idgraph.domain.rules import Rules, load_rules
from idgraph.errors import ConfigError

DEV_HMAC_SECRET = "idgraph-dev-secret-change-me"


class Settings(BaseSettings):
    """Every knob of the service; defaults work on a laptop."""

    model_config = SettingsConfigDict(env_prefix="IDGRAPH_", extra="ignore")

    # Neo4j. Without a URI, `idgraph serve` starts a local Neo4j from .neo4j/lib.
    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: SecretStr = SecretStr("")
    neo4j_database: str = "neo4j"
    neo4j_home: Path = Path(".neo4j/local")
    neo4j_lib: Path = Path(".neo4j/lib")
    neo4j_bolt_port: int = Field(7687, ge=0, le=65535)
    neo4j_heap: str = "1g"
    neo4j_pagecache: str = "512m"
    neo4j_tx_log_retention: str = Field(
        "keep_none", description="db.tx_log.rotation.retention_policy of the local Neo4j: how "
        "long transaction logs (which hold erased values until pruned) are kept")
    neo4j_start_timeout: float = 120.0
    neo4j_retry_seconds: float = Field(5.0, ge=0, description="retrying transient errors")

    # gRPC.
    grpc_addr: str = "127.0.0.1:50051"
    grpc_workers: int = Field(32, ge=1)
    # Prometheus metrics (host:port, served at /metrics); empty: off.
    metrics_addr: str = ""
    console_addr: str = ""  # host:port of the steward console (idgraph/console); "" off
    grpc_max_message_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    shutdown_grace: float = Field(5.0, ge=0)
    batch_window: int = Field(1024, ge=1,
                              description="records of one BatchIngest stream in flight")
    pipeline: bool = Field(False, description="resolve the next batch while one commits")
    view_entries: int = Field(200_000, ge=0, description="a writer's view of the graph: "
                              "entries per map (holders, people, records); 0 turns it off")
    group_commit_max_batch: int = Field(512, ge=1,
                                        description="records per group commit, at most")

    # Access. Without a keys file authentication is off (development only).
    api_keys_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None

    # Resolution.
    rules_file: Path | None = None
    tags_file: Path | None = None  # the tag hierarchy (default: idgraph/rules/tags.toml)
    leads_file: Path | None = None  # lead-grading points (default: idgraph/rules/leads.toml)
    leads_model: Path | None = None  # a model `idgraph leads train` saved; GradeLead uses it
    model_statistics_seconds: float = Field(
        300.0, ge=0, description="how long next-model statistics are reused at least")
    hmac_secret: SecretStr = SecretStr(DEV_HMAC_SECRET)

    # Audiences: the index of people they are evaluated over catches up with the graph when
    # older than this (each call), and is rebuilt in full this often.
    audience_max_age_seconds: float = Field(2.0, ge=0)
    audience_rebuild_seconds: float = Field(86_400.0, gt=0)
    audience_warm_up: bool = True  # `idgraph serve` builds the index at start, behind

    # Batch inputs: the zone of times written without one ("2021-07-15 08:30:00", "2021-07").
    timezone: str = "Asia/Shanghai"

    # Per-record bounds.
    max_identifiers: int = Field(64, ge=1)
    max_value_length: int = Field(256, ge=16)
    max_attributes: int = Field(64, ge=1)
    max_attribute_length: int = Field(2048, ge=16)
    max_vehicles: int = Field(32, ge=0)

    gc_threshold: int = Field(50_000, ge=0, description="allocations between Python's "
                              "young-generation collections; 0 keeps Python's default")
    log_level: str = "INFO"
    # "text" (default) or "json": one JSON object per line, no personal data at any level.
    log_format: Literal["text", "json"] = "text"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as "
                             "Asia/Shanghai)") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The zone of naive times in batch inputs."""
        return ZoneInfo(self.timezone)

    @property
    def limits(self) -> Limits:
        """Per-record bounds as the domain uses them."""
        return Limits(
            max_identifiers=self.max_identifiers, max_value_length=self.max_value_length,
            max_attributes=self.max_attributes, max_attribute_length=self.max_attribute_length,
            max_vehicles=self.max_vehicles, local_zone=self.zone,
        )

    def load_rules(self) -> Rules:
        """The configured rules file (or the shipped default), validated."""
        try:
            return load_rules(self.rules_file)
        except (OSError, ValidationError, ValueError) as exc:
            raise ConfigError(f"rules file {self.rules_file or 'default'}: {exc}") from exc

    @property
    def secret_bytes(self) -> bytes:
        """The HMAC key for hashed identifiers."""
        return self.hmac_secret.get_secret_value().encode()
