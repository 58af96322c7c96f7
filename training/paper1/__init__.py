"""Paper 1 (Sun et al., NeurIPS 2021): memory-bank builder, losses, data adapters, trainer."""
