"""Code that runs inside the kernel: the magics, seeding, determinism, recording, tracing and `%repro_status`."""
