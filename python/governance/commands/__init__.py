"""Subcommands of the `governance` CLI beyond the core ones in governance.cli.

Each module here defines ``register(subparsers)``, which adds its parser(s) and sets
``func`` to a callable taking the parsed arguments and returning an exit code.
"""
