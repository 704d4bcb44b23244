"""The org tree (HQ / subsidiary / store / department) and users' placement and supervisors."""
