"""Generates the Asterisk configuration and prompt recordings from `centralita.toml`."""
