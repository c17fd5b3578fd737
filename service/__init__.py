"""The edges of buurtkas: application service, CLI, settings, logging (and later HTTP)."""
