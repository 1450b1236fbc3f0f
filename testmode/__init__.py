"""Test mode: scenarios played by a local flask server, checked against the monitoring graph in virtual time."""
