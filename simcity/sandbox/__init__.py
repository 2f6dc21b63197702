"""The simulated city: Binhai's 28 source systems, each serving its slice of the demo city in
its own native shape over its real protocol, with the imperfections of real sources.

``cityhub sandbox up`` runs it (:mod:`simcity.sandbox.run`); :mod:`~simcity.sandbox.dataset`
shapes the data, :mod:`~simcity.sandbox.extra` makes the records the generator lacks,
:mod:`~simcity.sandbox.protocols` serves them.
"""
