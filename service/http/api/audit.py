"""The tamper-evident log: the latest signed checkpoint and an event's inclusion proof."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import PathParameter
from pydantic import Field

from audit import log as audit_log
from audit.checkpoint import Checkpoint
from service.http.api.fields import MAX_POSITION, Reply
from service.http.api.reading import READ_ERRORS, SECURITY
from service.http.auth import PERMISSION
from service.http.context import Services
from service.http.policy import Permission
from service.http.problems import ApiProblem, responses


class CheckpointView(Reply):
    tree_size: int = Field(description="The number of events the signed root covers")
    root_hash: str = Field(description="RFC 6962 Merkle root, hex")
    signed_at: str
    key_id: str
    signature: str = Field(description="Ed25519 signature, hex")


class ProofView(Reply):
    position: int
    leaf_index: int
    leaf_hash: str
    tree_size: int
    root_hash: str
    path: list[str] = Field(description="RFC 6962 audit path, hex, leaf to root")
    checkpoint: CheckpointView


def checkpoint_view(checkpoint: Checkpoint) -> CheckpointView:
    return CheckpointView(**checkpoint.to_json())


def no_checkpoint() -> ApiProblem:
    return ApiProblem(
        404, "no_checkpoint", "no checkpoint has been signed yet (buurtkas checkpoint)"
    )


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]
    security = SECURITY

    @get(
        "/checkpoint",
        operation_id="getLatestCheckpoint",
        summary="The latest signed checkpoint of the Merkle log",
        opt={PERMISSION: Permission.PROOFS_READ},
        responses=responses(403, 404),
        sync_to_thread=True,
    )
    def checkpoint(self, services: NamedDependency[Services]) -> CheckpointView:
        with services.pool.connection() as conn:
            latest = audit_log.latest_checkpoint(conn)
        if latest is None:
            raise no_checkpoint()
        return checkpoint_view(latest)

    @get(
        "/events/{position:int}/proof",
        operation_id="getInclusionProof",
        summary="An event's RFC 6962 inclusion proof against the latest checkpoint",
        opt={PERMISSION: Permission.PROOFS_READ},
        responses=responses(*READ_ERRORS),
        sync_to_thread=True,
    )
    def proof(
        self,
        services: NamedDependency[Services],
        position: Annotated[
            int, PathParameter(ge=1, le=MAX_POSITION, description="The event's position")
        ],
    ) -> ProofView:
        with services.pool.connection() as conn:
            latest = audit_log.latest_checkpoint(conn)
            if latest is None:
                raise no_checkpoint()
            leaf = audit_log.leaf_at(conn, position)
            if leaf is None or leaf.leaf_index >= latest.tree_size:
                raise ApiProblem(
                    404,
                    "not_sealed",
                    f"no event at position {position} inside the latest checkpoint "
                    f"(size {latest.tree_size})",
                    field="position",
                )
            proof = audit_log.inclusion_proof(conn, leaf, latest.tree_size, latest.root_hash)
        return ProofView(**proof.to_json(), checkpoint=checkpoint_view(latest))
