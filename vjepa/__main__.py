import sys

from vjepa.cli.main import main

sys.exit(main())
