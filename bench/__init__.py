"""`make bench`: tagging speed against its decode bound, and end-to-end throughput."""
