"""Other frameworks' conv2d behind F.conv2d's signature, one adapter module each.

Each module's ``conv2d`` hands a call to its framework's own CPU convolution
(torch tensors -> contiguous NumPy -> the framework -> NumPy -> a tensor of
the input's dtype on its device) and carries ``conv2d.domain`` and
``conv2d.deviations``: the TOML files beside it that declare the calls it
claims, its contract (``[claims]``) and the framework's measured bugs.  The
framework is imported on the first call, so a module imports without it and
``conv2d.unavailable()`` names the missing extra; nothing in the suite imports
these modules unless ``--conv2d-impl`` selects one.
"""
