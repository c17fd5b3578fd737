"""The HTTP edge stays at the edge: only service/http knows Litestar and HTTP statuses."""

from __future__ import annotations

from pathlib import Path

from service.http.app import create_app
from service.settings import Settings
from tests.architecture.test_layout import imported_modules


def test_only_the_service_package_knows_http() -> None:
    # when
    inner = {p: imported_modules(p) for p in ("domain", "projections", "audit")}
    # then
    for package, imports in inner.items():
        assert not {m for m in imports if m.split(".")[0] in {"litestar", "uvicorn"}}, package
        assert not {m for m in imports if m.startswith("service")}, package


def test_building_the_app_opens_nothing_until_its_lifespan(tmp_path: Path) -> None:
    # given
    database = tmp_path / "buurtkas.db"
    # when
    app = create_app(Settings(database_url=f"sqlite:///{database}"))
    # then
    assert not database.exists()
    assert getattr(app.state, "services", None) is None
