"""Pure comparison of recorded runs: records, tolerances, the epoch where training parts."""
