"""The watcher: the change-stream consumer that claims pending invoices, runs the extraction in worker
processes, and writes each result exactly once (see `service`)."""
