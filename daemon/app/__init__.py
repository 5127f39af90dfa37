"""The application: the service loop under systemd, the CLI, the HTTP listener and its pages.

In: config.yaml, signals, HTTP requests and commands. Out: the running daemon and the commands' output.
``service`` builds every stage in its constructor and runs them (``run``; ``serve`` locks the state_dir
first); no other package imports this one.
"""
