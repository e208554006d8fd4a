"""Pure-Python reference of the compiled core: same names, same semantics."""
