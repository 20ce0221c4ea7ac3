"""The ``kura`` entry point of kura-operator.

Registered in the ``kura`` entry-point group so ``kura plugins`` lists it with its version. Its
hooks arrive with the package's own features; until then it implements none.
"""
