"""backprop: solve and check backpropagation exercises step by step."""

__version__ = "0.1.0"
