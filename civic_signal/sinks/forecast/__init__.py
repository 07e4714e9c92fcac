"""Expected report volumes per type x neighbourhood x hour, with prediction intervals.

- :mod:`.model`: the count model (factors, negative-binomial intervals) and the prior file;
- :mod:`.history`: Boston's Open311 history reduced to hourly counts (the only reader of the dump);
- :mod:`.fit`: the NB GLM (statsmodels) that turns counts into the prior;
- :mod:`.learn`: the prior updated with the archive (by post time);
- :mod:`.evaluate`: held-out years against the seasonal naive forecast (docs/forecast.md).

Types are keyed by the Boston category code the classifications carry today; the key is an opaque
string everywhere here, so a city-neutral type can replace it by mapping codes when it exists.
"""
