"""Ingest: inbound folders, files, feeds and the HTTP intake, into messages.

In: files renamed into an inbox (``inbox``, ``folders``), feed entries (``feeds``) and HTTP bodies.
Out: ``rules.model.Message`` values read one record at a time (``formats``, in the encoding ``encodings``
found), and files moved to processed/ or quarantined in failed/ with a reason.
"""
