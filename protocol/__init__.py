"""What both parties share because Alibaba Cloud Marketplace dictates it, and nothing else.

The Guance side (`wizard`) and the marketplace simulator (`marketplace`) are separate applications;
each imports this package, neither imports the other.
"""
