"""Training over several processes (MPI)."""
