"""FunctionNodes with hand-written backward passes, on NumPy and CuPy arrays."""
