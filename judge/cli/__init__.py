"""The command line: argument parsing and the one error boundary; a thin client of the library."""
