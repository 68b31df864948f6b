"""``python -m manifests``: the ``gt-manifest`` command line."""

import sys

from manifests.cli import main

sys.exit(main())
