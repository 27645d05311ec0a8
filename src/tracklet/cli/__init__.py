"""The ``tracklet`` command line."""
