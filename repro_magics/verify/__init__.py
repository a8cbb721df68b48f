"""The host side of restart-and-verify: running notebooks in fresh kernels, verifying them, trace and calibrate."""
