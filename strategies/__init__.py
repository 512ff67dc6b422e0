"""How conv2d problems are drawn: valid by construction, or broken in one rule."""

from strategies.problems import conv2d_cases

__all__ = ["conv2d_cases"]
