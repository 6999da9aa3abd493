"""Protocols: one module per experiment, ``Config -> run(config) -> Result``, run by ``plab``."""
