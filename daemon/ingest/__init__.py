"""Ingest: inbound folders, files and feeds, into messages.

In: files renamed into an inbox (``inbox``, ``folders``); feed entries (``feeds``) and HTTP bodies
(``daemon.app.httpapi``), both first written as JSON-lines files into a spool inbox under state_dir.
Out: ``rules.model.Message`` values read one record at a time (``formats``, in the encoding ``encodings``
found), and files moved to processed/ or quarantined in failed/ with a reason.
"""
