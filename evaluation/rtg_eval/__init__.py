"""Evaluation of generated Rust tests."""
