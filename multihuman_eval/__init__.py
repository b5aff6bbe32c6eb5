"""MultiHuman-style evaluation: Chamfer / point-to-surface / normal metrics, benchmark runner and Table-1 style report. Not implemented yet."""
