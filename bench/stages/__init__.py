"""One module per measured stage; each function runs inside a ``bench.measure`` child process."""
