"""Repository of the ``meta`` table: the service's own small facts by key (schema version, the rules in
use, watermarks such as the last resolution announced). Every read and write of the table is a function
here."""

from __future__ import annotations
