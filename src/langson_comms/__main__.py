"""``python -m langson_comms`` runs the CLI."""

from langson_comms.cli import main

main()
