import sys

from firebrick.cli import main

sys.exit(main())
