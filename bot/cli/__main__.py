"""`python -m bot.cli`: the same as the `regclean` command."""

import sys

from bot.cli import main

sys.exit(main())
