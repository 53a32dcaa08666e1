"""Modal questions put to the learner."""
