"""One module per CLI verb: `register(subparsers)` adds a parser, `run(args)` returns a status."""
