"""Protocols: one module per experiment, ``Config -> run(config) -> Result``, run by ``plab``.

``protocols.load(path)`` gives back the Result of a saved run (``results/NAME/<timestamp>``).
"""


def load(path, module=None):
    """The protocol's Result object of the run directory ``path`` (or of the newest complete
    run under a protocol directory such as ``results/song2000``); re-plotting needs no re-run.

    See :func:`protocols.store.load_result`.
    """
    from .store import load_result

    return load_result(path, module=module)


__all__ = ["load"]
