"""rtg's shared core: Rust source analysis, the prompt contract, model loading and the offline cargo sandbox.

Training, evaluation and the server import this package; it imports none of them.
"""
