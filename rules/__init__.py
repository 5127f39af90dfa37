"""The decision layer: rule model, YAML loading, Chinese text analysis, periods, evaluation.

Never imports ``daemon`` and never touches the store or the network.
"""

PROJECT = "yuqing-sentinel"  # yuqing_sentinel.py tells this package from a PyPI namesake by it
