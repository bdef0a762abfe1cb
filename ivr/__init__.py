"""The caller's half: FastAGI server, classic AGI entry point and the IVR flows."""
