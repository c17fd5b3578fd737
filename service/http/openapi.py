"""The OpenAPI 3.1 document at ``/schema`` (JSON at ``/schema/openapi.json``), with an
interactive page. Command bodies are documented as closed: unknown fields are refused."""

from __future__ import annotations

from typing import Any

from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, Schema, SecurityScheme, Tag
from litestar.plugins.pydantic import PydanticSchemaPlugin
from litestar.typing import FieldDefinition

from service.http.api.fields import Command

API_VERSION = "1.0.0"

TAGS = [
    Tag(name="platforms", description="Platforms, members, relatives; their figures"),
    Tag(name="recognition", description="The council's recognition decisions"),
    Tag(name="budgets", description="District budgets"),
    Tag(name="grants", description="Grants: award to recovery"),
    Tag(name="expenses", description="A platform's expenses"),
    Tag(name="bank", description="A platform's bank statement lines"),
    Tag(name="transfers", description="Transfers between platforms"),
    Tag(name="corrections", description="Reversing money events recorded in error"),
    Tag(name="history", description="A platform's events and its replay"),
    Tag(name="risk", description="Fraud-risk findings"),
    Tag(name="audit", description="Checkpoints and inclusion proofs"),
    Tag(name="projections", description="Read models: positions and lag"),
    Tag(name="health", description="Liveness and readiness"),
]


class ClosedCommandSchemas(PydanticSchemaPlugin):
    """Litestar's pydantic schemas, where command bodies (``extra="forbid"``) also get
    ``additionalProperties: false``. (It stands in for the default pydantic schema plugin.)"""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        if field_definition.is_subclass_of(Command):
            schema.additional_properties = False
        return schema


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="buurtkas",
        version=API_VERSION,
        description="Event-sourced back office for neighbourhood budgets. Every POST needs "
        "an Idempotency-Key header; every error is an RFC 9457 problem document; money is a "
        "decimal string in EUR.",
        path="/schema",
        render_plugins=[SwaggerRenderPlugin(path=["/", "/swagger"])],
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="A token from `buurtkas token create --role ROLE`",
                )
            }
        ),
        tags=TAGS,
    )
