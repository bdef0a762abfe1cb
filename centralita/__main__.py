import sys

from centralita.cli import main

sys.exit(main())
