import sys

from daemon.app.cli import main

sys.exit(main())
