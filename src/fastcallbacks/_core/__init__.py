"""The compiled core: ring (RingMonitor), tracker (BestTracker), snapshot (WeightSnapshot)."""
