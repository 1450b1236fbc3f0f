"""The web room: the status page, the JSON API, live events and /metrics, read from the log (`-w`)."""
