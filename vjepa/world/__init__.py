"""world: V-JEPA 2-AC world model: the action-conditioned objective, imagination and planning."""
