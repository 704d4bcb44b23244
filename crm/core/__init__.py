"""The kernel: no business knowledge. Base model, errors, signals, clock, audit log, pagination, web helpers."""
