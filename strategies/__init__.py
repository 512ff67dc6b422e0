"""How conv2d problems are drawn: valid by construction, or broken in one rule.

``conv2d_cases`` draws a problem's sizes (strategies/problems.py), then its
data features and the spelling of its call (strategies/data.py,
strategies/cases.py).
"""

from strategies.cases import conv2d_cases

__all__ = ["conv2d_cases"]
