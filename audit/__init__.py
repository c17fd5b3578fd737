"""The tamper-evident audit trail: a Merkle log over every stored event.

Every event appended to the store becomes a leaf of an RFC 6962 Merkle tree in the same
transaction; signed checkpoints fix the tree's root at a size; inclusion and consistency
proofs let an outsider check offline that an exported history is the recorded one.
This package imports neither ``projections`` nor ``service``.
"""
