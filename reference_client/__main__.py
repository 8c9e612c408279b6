"""``python -m reference_client``: see ``reference_client.cli``."""

import sys

from reference_client.cli import main

sys.exit(main())
