"""`python -m hegui.cli`: the same command line as `hegui`."""

from hegui.cli import main

main()
