"""Repository of the append-only ``audit`` table: who did what, when (acknowledgements, resolutions,
silences, merges and splits). Every read and write of the table is a function here."""

from __future__ import annotations
