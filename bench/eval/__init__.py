"""``python -m bench.eval`` (``make eval``): recall and false alarms of a rules folder on a labelled
development set of real public Chinese posts and news. See docs/eval.md."""
