"""``python -m daemon``: the ``yuqing`` command, through the same import-name check."""

import sys

from yuqing_sentinel import main

sys.exit(main())
