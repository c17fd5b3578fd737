"""Read models (projections) of the buurtkas event store and their runners."""
