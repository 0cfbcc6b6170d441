"""Core: image analysis and tag vocabulary. Knows nothing of Azure or HTTP."""
