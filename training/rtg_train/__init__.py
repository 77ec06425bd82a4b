"""rtg-train: reproducible, resumable QLoRA fine-tuning of a small coder model on Rust tests (spec §4, §7, §8)."""
