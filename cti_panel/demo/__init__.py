"""`centralita demo`: the whole system on the simulator, seeded with a Mexican directory."""
