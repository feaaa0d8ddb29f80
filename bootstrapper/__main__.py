"""`python -m bootstrapper execute PLAN.json ...`: the `plan` command (execute, tune, ...) as a module,
so a distributed launcher can start it: `accelerate launch -m bootstrapper execute plan.json ...`
runs `plan execute` on every process (see bootstrapper/distributed.py for who does what)."""
from __future__ import annotations

import sys

from planner.cli import main

if __name__ == "__main__":
    sys.exit(main())
