"""Reports: the duty desk's paperwork from the store: 日报/周报, the ledger (台账), status, silent sources.

In: the store's incidents, deliveries and messages over a span. Out: ``Report`` figures (``figures``),
their HTML/text/XLSX forms (``render``, ``charts``, ``ledger``), scheduled e-mails (``schedule``,
``mail``) and the status that ``yuqing status`` and ``/metrics`` show.
"""
