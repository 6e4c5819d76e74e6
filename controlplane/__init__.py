"""CloudSense."""
