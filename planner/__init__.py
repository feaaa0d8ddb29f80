"""spendwise's planner. `from planner import Advisor` loads the advisor on first use only, so
importing the package (and `plan --help`) stays fast."""
from __future__ import annotations

__all__ = ["Advisor"]


def __getattr__(name: str) -> object:
    """Lazy attributes: Advisor is imported from planner.advisor when first asked for."""
    if name == "Advisor":
        from planner.advisor import Advisor

        return Advisor
    raise AttributeError(f"module 'planner' has no attribute {name!r}")
