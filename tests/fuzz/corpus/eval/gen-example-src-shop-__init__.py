"""Code shared by the example's jobs. Not a job: it has no STAU_CONFIG."""
