"""docker-tutor: learn Docker by building real images, graded on a real engine."""

__version__ = "0.1.0"
