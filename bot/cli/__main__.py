"""`python -m bot.cli`: the same as the `regclean` command."""

import sys

from bot.cli import main

if __name__ == "__main__":  # importing the module (as the composition check does) runs nothing
    sys.exit(main())
