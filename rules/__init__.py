"""The decision layer: rule model, YAML loading, Chinese text analysis, periods, evaluation.

Never imports ``daemon`` and never touches the store or the network.
"""
