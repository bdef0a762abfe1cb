"""IVR flows, written once against `AgiChannel` and run on FastAGI or classic AGI."""
