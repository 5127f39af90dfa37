"""The application: the service loop under systemd, the CLI, the HTTP listener and its pages.

Wires the stages together (``service``), reads the clock once per tick, and is the only package that
the others never import.
"""
