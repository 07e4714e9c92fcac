"""The core every part leans on: frozen types (:mod:`.models`) and the contracts a source
(:mod:`.source`), a sink (:mod:`.sink`), a classifier (:mod:`.classifier`) and a bus (:mod:`.bus`)
fulfil. Nothing here imports a part above it."""
