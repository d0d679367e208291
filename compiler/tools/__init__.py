"""A formula at a point: `gradc explain` and `gradc draw`, and the traces
they are drawn from."""
