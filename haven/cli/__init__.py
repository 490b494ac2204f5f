"""The `haven` command line: wires the subcommands of the other packages."""
