"""`python -m movierec` is the same as the `movierec` command."""

from movierec.cli import main

main()
