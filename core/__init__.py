"""Foundation shared by every Foresight package: typed configs, errors, data paths.

Depends on nothing else in the project, so `models`, `runtime`, `nodes` and `training` may all
import it without breaking the dependency direction in ARCHITECTURE.md.
"""
