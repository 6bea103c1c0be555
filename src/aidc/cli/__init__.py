"""The `aidc` command: one typer app with a sub-command group per subsystem."""
