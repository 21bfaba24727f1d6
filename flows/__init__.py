"""The co-creation flows. Pure steps: they import only `bot` core modules, never an SDK."""
