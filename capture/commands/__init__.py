"""Subcommands of the `capture` CLI: one module per subcommand, each with `register(subparsers)`."""
