"""Plain-Python reference implementations of every compiled function in ``core_ext``.

They are slow and obviously correct; the property tests compare the compiled code with them.
"""
