"""The layering, the packaging files and the configuration are what the README promises."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from domain.risk import RiskConfig
from service.settings import RiskConfigError, SettingsError, load_risk_config, load_settings
from service.storage import DatabaseUrlError, persistence_env

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(package: str) -> set[str]:
    modules: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules.add(node.module)
    return modules


def test_the_domain_imports_neither_projections_nor_service() -> None:
    # when
    imports = imported_modules("domain")
    # then
    assert not {m for m in imports if m.split(".")[0] in {"projections", "service"}}


def test_the_audit_trail_imports_neither_projections_nor_service_and_the_domain_not_it() -> None:
    # when
    audit_imports = imported_modules("audit")
    domain_imports = imported_modules("domain")
    # then
    assert not {m for m in audit_imports if m.split(".")[0] in {"projections", "service"}}
    assert not {m for m in domain_imports if m.split(".")[0] == "audit"}


def test_the_domain_never_uses_assert() -> None:
    for path in (ROOT / "domain").rglob("*.py"):
        tree = ast.parse(path.read_text())
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.Assert)], path


def test_docker_compose_names_postgres_15_and_the_service() -> None:
    # when
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    # then
    services = compose["services"]
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["buurtkas"]["build"]["dockerfile"] == "Dockerfile"
    assert services["buurtkas"]["environment"]["BUURTKAS_DATABASE_URL"].startswith("postgresql://")
    assert (ROOT / "Dockerfile").is_file()


def test_settings_default_to_the_embedded_sqlite_file() -> None:
    # when
    settings = load_settings({})
    # then
    assert settings.database_url == "sqlite:///buurtkas.db"
    assert persistence_env(settings.database_url)["SQLITE_DBNAME"] == "buurtkas.db"


def test_a_postgres_url_maps_to_the_library_settings() -> None:
    # when
    env = persistence_env("postgresql://app:s%40cret@db.example:6543/buurtkas?schema=kas")
    # then
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == (
        "db.example",
        "6543",
        "buurtkas",
    )
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_SCHEMA"]) == (
        "app",
        "s@cret",
        "kas",
    )
    assert env["POSTGRES_ENABLE_DB_FUNCTIONS"] == "n"


@pytest.mark.parametrize("url", ["mysql://h/d", "postgresql://h", "sqlite:relative.db"])
def test_unusable_database_urls_are_refused(url: str) -> None:
    with pytest.raises(DatabaseUrlError, match="BUURTKAS_DATABASE_URL"):
        persistence_env(url)


@pytest.mark.parametrize(
    ("variable", "value", "rule"),
    [
        ("BUURTKAS_LOG_LEVEL", "loud", "should be 'debug', 'info', 'warning' or 'error'"),
        ("BUURTKAS_LOG_FORMAT", "xml", "should be"),
        ("BUURTKAS_CREATE_TABLES", "maybe", "valid boolean"),
    ],
)
def test_a_bad_setting_is_refused_in_one_line_naming_its_variable(
    variable: str, value: str, rule: str
) -> None:
    # when
    with pytest.raises(SettingsError) as refused:
        load_settings({variable: value})
    # then
    message = str(refused.value)
    assert message.startswith(f"{variable}: {value!r} ")
    assert rule in message
    assert "\n" not in message


def test_risk_thresholds_are_read_from_a_json_file(tmp_path: Path) -> None:
    # given
    path = tmp_path / "risk.json"
    path.write_text('{"version": "local-1", "cash_single_cents": 50000}')
    # when
    config = load_risk_config(str(path))
    # then
    assert (config.version, config.cash_single_cents) == ("local-1", 50000)
    assert config.digest() != RiskConfig().digest()
    assert load_risk_config(None) == RiskConfig()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"cash_single_cents": "lots"}', "cash_single_cents: Input should be a valid integer"),
        ('{"cash_limit": 1}', "unknown setting(s) cash_limit"),
        ("[1, 2]", "must hold a JSON object"),
        ("{not json", "cannot read"),
    ],
)
def test_a_bad_risk_configuration_is_refused_naming_the_setting(
    tmp_path: Path, content: str, message: str
) -> None:
    # given
    path = tmp_path / "risk.json"
    path.write_text(content)
    # when
    with pytest.raises(RiskConfigError) as refused:
        load_risk_config(str(path))
    # then
    assert str(refused.value).startswith("BUURTKAS_RISK_CONFIG: ")
    assert message in str(refused.value)
