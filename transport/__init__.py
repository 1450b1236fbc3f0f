"""What the probes and the notification channels send HTTP through: one deadline over a whole exchange
(`watchdog`), the answer's body read within it (`body`)."""
