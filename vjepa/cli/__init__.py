"""The command line: the only layer that parses flags. ``vjepa.cli.main.main`` is the ``vjepa`` entry point."""
