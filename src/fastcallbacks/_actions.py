"""Action codes returned by `BestTracker.update()`.

Both implementations of the tracker (the compiled core and the pure-Python
reference) return these values; the callbacks compare against them. They are
kept here so that production code never imports the reference.
"""

SKIP = 0
IMPROVED = 1
WAIT = 2
COOLDOWN = 3
STOP = 4
REDUCE = 5

NAMES = ("SKIP", "IMPROVED", "WAIT", "COOLDOWN", "STOP", "REDUCE")
