"""Docker Compose: the learner's file run by the real Compose CLI inside the tutor's sandbox."""
