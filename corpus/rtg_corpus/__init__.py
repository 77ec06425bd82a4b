"""rtg-corpus: mine function -> tests pairs from real crates into a train/validation/test/holdout corpus."""
