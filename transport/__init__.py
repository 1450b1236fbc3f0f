"""What the probes and the notification channels send HTTP through: one deadline over a whole exchange
(`watchdog`)."""
