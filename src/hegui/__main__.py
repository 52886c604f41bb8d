"""`python -m hegui`: the same command line as `hegui`."""

from hegui.cli import main

main()
