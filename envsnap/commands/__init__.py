"""One module per CLI verb: `register(subparsers)` adds the parser, `run(args)` returns an exit code."""
