"""The high seas (公海): per-store pools, recycle rules and the daily sweep, manual moves, supervisor
assignment, and claims through processes/high_seas_claim.bpmn (approval, then a return-visit deadline)."""
