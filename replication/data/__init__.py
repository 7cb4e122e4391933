"""Offline text corpora for character-level language modelling."""
