"""Local development: run the app on this machine (Azurite, the runner, settings files)."""
