"""rtg-serve: a language server whose "Generate tests" action inserts only tests that build and pass."""
