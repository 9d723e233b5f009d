"""Use cases over a unit of work, one package per capability (README, "The layers")."""
