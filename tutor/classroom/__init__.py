"""Tools for instructors and workshops: base images offline, grading a class, progress reports."""
