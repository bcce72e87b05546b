"""The ``langson-comms`` command line (placeholder, being written by the lead)."""
