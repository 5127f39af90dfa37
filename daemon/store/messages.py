"""Repository of the ``files`` and ``messages`` tables: inbound files handled, messages stored with their
hash (de-duplication), verdict, incident and latest spread figures. Every read and write of these tables
is a function here, taking the caller's connection (inside its transaction) or the ``Store``."""

from __future__ import annotations
