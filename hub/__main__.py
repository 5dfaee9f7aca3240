"""``python -m hub``: the same as the ``hub`` command."""

from hub.cli import main

main()
