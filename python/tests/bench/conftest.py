"""The benchmark package lives at the project root (``bench/``), outside ``python/``."""

from __future__ import annotations

import sys

from hermes.config import PROJECT_ROOT

if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))
