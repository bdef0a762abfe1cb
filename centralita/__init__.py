"""The `centralita` command: one entry point, one subcommand per process role."""
