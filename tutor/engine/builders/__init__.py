"""Builders: turn a build context into an image on the engine, with one interface for two builders.

`classic` is the engine's legacy builder (Podman's compat API offers only this one); `buildkit`
is what `docker build` uses since Engine 23.0. `choice.py` picks one for an engine.
"""
