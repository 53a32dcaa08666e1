"""Browser mode for a class: learners with a name and a cookie, limits, an instructor page."""
