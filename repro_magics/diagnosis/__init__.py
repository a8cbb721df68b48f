"""Why a notebook diverged: the tolerance that would accept it, likely causes, the first epoch that differs.

These modules read a verification's results and the notebook; they sit above
`verify` and below `report` in the layers.
"""
