"""Foundation shared by every Foresight package: typed configs, errors, data paths.

Depends on nothing else in the project, so `models`, `runtime`, `nodes` and `training` may all
import it without breaking the dependency direction (../shared/ARCHITECTURE.md: core at the
bottom, nothing in core imports the rest of the project).
"""
