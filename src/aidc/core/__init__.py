"""Pure domain model of an AI data center: GPU catalog, datacenter spec and inventory, errors, units.

`aidc.core` imports no other aidc package and does no I/O beyond parsing spec text it is handed
(see `spec_io`, the one place that reads a spec file).
"""
